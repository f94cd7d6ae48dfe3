import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { LoraStudyError } from '../util/errors.js';

/** Reads a YAML file, with the line and column of a syntax error in the message. */
export function readYamlFile(file: string): unknown {
  if (!existsSync(file)) throw new LoraStudyError(`config file ${file} not found`);
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new LoraStudyError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

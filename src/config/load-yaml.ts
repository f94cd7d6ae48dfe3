import { existsSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { LoraStudyError } from '../util/errors.js';
import { readUtf8File } from '../util/text-file.js';

/** Reads a YAML file, with the line and column of a syntax error in the message. */
export function readYamlFile(file: string): unknown {
  if (!existsSync(file)) throw new LoraStudyError(`config file ${file} not found`);
  if (statSync(file).isDirectory()) {
    throw new LoraStudyError(`config file ${file} is a folder, not a YAML file`, { hint: 'name the .yaml file inside it, e.g. configs/experiments/rank_sweep.yaml' });
  }
  // A file this user may not read is a FileReadError naming it (readUtf8File).
  const text = readUtf8File(file);
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new LoraStudyError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

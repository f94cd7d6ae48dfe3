import { DatasetParseError } from './errors.js';
import { cleanJsonMessage as cleanMessage, jsonErrorPosition as errorOffset, lineColumn } from '../util/text-file.js';

export { lineColumn };

/** Parses an Alpaca-style JSON array; errors carry the file, line and column. */
export function parseJsonArray(file: string, text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const off = errorOffset(err as Error, text);
    throw new DatasetParseError(file, 'json', cleanMessage(err as Error), lineColumn(text, off));
  }
  if (!Array.isArray(value)) {
    throw new DatasetParseError(file, 'json', `expected an array of rows at the top level, found ${value === null ? 'null' : typeof value}`, { line: 1, column: 1 });
  }
  return value;
}

/** Parses JSON Lines; blank lines are skipped; errors carry the file, line and column. */
export function parseJsonLines(file: string, text: string): unknown[] {
  const rows: unknown[] = [];
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() === '') continue;
    try {
      rows.push(JSON.parse(raw));
    } catch (err) {
      const off = errorOffset(err as Error, raw);
      throw new DatasetParseError(file, 'jsonl', cleanMessage(err as Error), { line, column: off + 1 });
    }
  }
  return rows;
}

/**
 * `.json` files on the Hub are often JSON Lines despite the name; an array is Alpaca JSON,
 * anything starting with `{` is read as JSON Lines.
 */
export function parseJsonFile(file: string, text: string): { rows: unknown[]; format: 'json' | 'jsonl' } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = /\S/.exec(body)?.[0];
  if (first === '{') return { rows: parseJsonLines(file, body), format: 'jsonl' };
  return { rows: parseJsonArray(file, body), format: 'json' };
}

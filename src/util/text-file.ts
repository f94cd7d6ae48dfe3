/**
 * Reading text and JSON files the way a user can act on when they are wrong: bytes that are not
 * UTF-8 are an error naming the file, byte offset and line (never silently U+FFFD), and JSON
 * syntax errors name the file, line and column.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { LoraStudyError } from './errors.js';
import { describeReadError } from './fs-errors.js';
import { jsonErrorOffset } from './json-error-offset.js';

export class NotUtf8Error extends LoraStudyError {
  constructor(readonly file: string, readonly byteOffset: number, readonly line: number, what: string) {
    super(`${file}: not UTF-8 text: ${what} at byte offset ${byteOffset} (line ${line})`, {
      hint: 'save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 <file> > <file>.utf8` (use the encoding it was written in), then use the converted file',
    });
  }
}

/** A JSON file that does not parse; says where. */
export class JsonFileError extends LoraStudyError {
  constructor(readonly file: string, readonly detail: string, readonly position: { line: number; column: number }, hint?: string) {
    super(`${file} (line ${position.line}, column ${position.column}): not valid JSON: ${detail}`, { hint });
  }
}

/** Length of a valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0; // no overlongs
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0; // ≤ U+10FFFF
  return 0;
}

/** Byte offset of the first byte that does not start a valid UTF-8 sequence, or -1 when all are valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  for (let i = 0; i < bytes.length; ) {
    const n = sequenceLength(bytes, i);
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

/** Decodes UTF-8 strictly (a leading byte-order mark is dropped); `file` names the source in errors. */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (bytes[i] === 10) line++;
    const utf16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
    const what = utf16 ? 'it starts with a UTF-16 byte-order mark' : `byte 0x${bytes[bad].toString(16).padStart(2, '0')} is not valid UTF-8`;
    throw new NotUtf8Error(file, bad, line, what);
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Reads a UTF-8 text file strictly (see `decodeUtf8`). A file that cannot be read (missing, a
 * folder, not readable) is a FileReadError naming it and saying what to do.
 */
export function readUtf8File(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw describeReadError(err, file);
  }
  return decodeUtf8(file, bytes);
}

/** 1-based line and column of a string offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Where JSON.parse failed: V8's "at position N" when it says so, else our own validator's answer. */
export function jsonErrorPosition(err: Error, text: string): number {
  const m = /at position (\d+)/.exec(err.message);
  return m ? Number(m[1]) : jsonErrorOffset(text);
}

/** V8's JSON.parse message without the quoted text and position it repeats. */
export function cleanJsonMessage(err: Error): string {
  return err.message.replace(/,? ?(?:\.\.\.)?"[\s\S]*" is not valid JSON$/, '').replace(/ in JSON at position \d+.*$/, '').trim();
}

/** Parses JSON text; a syntax error becomes a JsonFileError naming `file`, line and column. */
export function parseJsonText(file: string, text: string, hint?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JsonFileError(file, cleanJsonMessage(err as Error), lineColumn(text, jsonErrorPosition(err as Error, text)), hint);
  }
}

/** Reads a UTF-8 JSON file strictly: encoding and syntax errors name the file and where. */
export function readJsonFile(file: string, hint?: string): unknown {
  return parseJsonText(file, readUtf8File(file), hint);
}

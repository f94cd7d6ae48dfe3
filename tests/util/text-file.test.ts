import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { LoraStudyError } from '../../src/util/errors.js';
import { firstInvalidUtf8, JsonFileError, NotUtf8Error, readJsonFile, readUtf8File } from '../../src/util/text-file.js';
import { tmpDir } from '../data/fixtures.js';
import { runUnprivileged, unprivilegedReason } from '../helpers/unprivileged.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('strict UTF-8', () => {
  test('finds the first byte that does not start a valid sequence', () => {
    expect(firstInvalidUtf8(Buffer.from('plain, ünï, 漢字, 🎉', 'utf8'))).toBe(-1);
    expect(firstInvalidUtf8(bytes(0x61, 0x80))).toBe(1); // lone continuation byte
    expect(firstInvalidUtf8(bytes(0x61, 0xc0, 0xaf))).toBe(1); // overlong '/'
    expect(firstInvalidUtf8(bytes(0xed, 0xa0, 0x80))).toBe(0); // UTF-16 surrogate
    expect(firstInvalidUtf8(bytes(0x61, 0x62, 0xe6, 0xbc))).toBe(2); // cut short at the end
    expect(firstInvalidUtf8(bytes(0xf4, 0x90, 0x80, 0x80))).toBe(0); // past U+10FFFF
  });

  test('a Latin-1 file is an error naming the file, byte offset and line, not U+FFFD', () => {
    const file = join(tmpDir(), 'latin1.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"a": "ok"}\n{"a": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    const err = (() => {
      try {
        return readUtf8File(file);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NotUtf8Error);
    expect(err).toMatchObject({ file, byteOffset: 22, line: 2 });
    expect((err as Error).message).toBe(`${file}: not UTF-8 text: byte 0xe9 is not valid UTF-8 at byte offset 22 (line 2)`);
    expect((err as NotUtf8Error).hint).toContain('iconv');
  });

  test('UTF-16 is named as such; a UTF-8 byte-order mark is dropped', () => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'u16.json'), Buffer.from('\ufeff{}', 'utf16le'));
    expect(() => readUtf8File(join(dir, 'u16.json'))).toThrow(/UTF-16 byte-order mark at byte offset 0/);
    writeFileSync(join(dir, 'bom.json'), '\ufeff{"x": 1}');
    expect(readJsonFile(join(dir, 'bom.json'))).toEqual({ x: 1 });
  });

  test('JSON syntax errors name the file, line and column', () => {
    const file = join(tmpDir(), 'bad.json');
    writeFileSync(file, '{\n  "a": 1,\n  "b": }\n');
    expect(() => readJsonFile(file, 'fix it')).toThrow(JsonFileError);
    expect(() => readJsonFile(file)).toThrow(`${file} (line 3, column 8): not valid JSON`);
  });
});

describe('a file that cannot be read is named, with what to do', () => {
  const readError = (file: string): LoraStudyError => {
    try {
      readUtf8File(file);
    } catch (e) {
      return e as LoraStudyError;
    }
    throw new Error(`${file} was read`);
  };

  test('a missing file (ENOENT) and a folder (EISDIR)', () => {
    const dir = tmpDir();
    const missing = join(dir, 'nope', 'train.jsonl');
    const e1 = readError(missing);
    expect(e1).toBeInstanceOf(LoraStudyError);
    expect(e1.message).toBe(`cannot read ${missing}: no such file (the nearest existing folder is ${dir})`);
    expect(e1.hint).toMatch(/check the path/);
    mkdirSync(join(dir, 'folder.json'));
    const e2 = readError(join(dir, 'folder.json'));
    expect(e2).toBeInstanceOf(LoraStudyError);
    expect(e2.message).toBe(`cannot read ${join(dir, 'folder.json')}: it is a folder, not a file`);
    expect(e2.hint).toMatch(/name the file inside it/);
  });

  test.skipIf(unprivilegedReason !== null)(`a file this user may not read (EACCES)${unprivilegedReason ? ` (skipped: ${unprivilegedReason})` : ''}`, () => {
    const dir = tmpDir();
    chmodSync(dir, 0o755);
    const file = join(dir, 'secret.jsonl');
    writeFileSync(file, '{}\n');
    chmodSync(file, 0o600);
    const r = runUnprivileged(fileURLToPath(new URL('../fixtures/read-utf8.ts', import.meta.url)), [file]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`FileReadError: cannot read ${file}: permission denied (EACCES)`);
    expect(r.stderr).toMatch(/hint: make it readable for this user/);
  });
});

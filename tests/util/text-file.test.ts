import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { firstInvalidUtf8, JsonFileError, NotUtf8Error, readJsonFile, readUtf8File } from '../../src/util/text-file.js';
import { tmpDir } from '../data/fixtures.js';

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

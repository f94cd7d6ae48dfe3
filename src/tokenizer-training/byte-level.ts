/**
 * The GPT-2 byte-level scheme that Hugging Face's `ByteLevel` pre-tokenizer implements: text is
 * split by GPT-2's regex, then every UTF-8 byte is written as one printable character.
 */

/** GPT-2's bytes_to_unicode table: byte b is written as table[b]. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCharCode(cs[i])));
  return table;
}

/** The split regex of the ByteLevel pre-tokenizer (`use_regex: true`), as in GPT-2's encoder.py. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Pre-tokenizes `text` into byte-level words, as the ByteLevel pre-tokenizer does. */
export function byteLevelWords(text: string, table: string[] = bytesToUnicode()): string[] {
  return (text.match(GPT2_SPLIT) ?? []).map((piece) => [...Buffer.from(piece, 'utf8')].map((b) => table[b]).join(''));
}

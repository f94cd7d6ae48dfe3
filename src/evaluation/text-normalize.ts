/**
 * Answer normalisation for exact match, as in the official SQuAD v1.1 evaluation script
 * (`normalize_answer` in `evaluate-v1.1.py`, Rajpurkar et al. 2016), so that a prediction
 * scored here gets the same verdict from the Python script.
 *
 * The Python steps, in their order: `lower()` → drop every character of
 * `string.punctuation` → `re.sub(r'\b(a|an|the)\b', ' ', ·)` → `' '.join(s.split())`.
 * Two quirks are kept on purpose:
 * - only ASCII punctuation is removed (`string.punctuation`); "’", "—", "«" survive;
 * - punctuation is removed *before* articles, so "the-end" becomes "theend" and keeps its "the".
 */

/** Python's `string.punctuation`: the 32 ASCII punctuation characters. */
const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * Python 3's `\b` in a str pattern is Unicode-aware (word characters are letters, numbers and
 * `_`), while JavaScript's `\b` knows only ASCII; lookarounds over `[\p{L}\p{N}_]` reproduce
 * Python's boundary, so the "a" in "théa" is not taken for an article.
 */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * The characters Python's `str.split()` (no argument) splits on, i.e. `str.isspace()`. It differs
 * from JavaScript's `\s`: it adds U+001C–U+001F and U+0085 and leaves out U+FEFF.
 */
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Python `' '.join(s.split())`: collapse whitespace runs to one space and trim both ends. */
export function collapseWhitespace(s: string): string {
  return s
    .split(PYTHON_WHITESPACE)
    .filter((part) => part.length > 0)
    .join(' ');
}

/** SQuAD normalisation: lowercase, strip ASCII punctuation, drop a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let out = '';
  for (const ch of s.toLowerCase()) if (!ASCII_PUNCTUATION.has(ch)) out += ch;
  return collapseWhitespace(out.replace(ARTICLES, ' '));
}

/** The strict variant: surrounding whitespace is the only difference forgiven. */
export function normalizeStrict(s: string): string {
  return s.trim();
}

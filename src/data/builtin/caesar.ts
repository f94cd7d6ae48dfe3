import type { BuiltinTask } from './types.js';
import { someWord } from './words.js';

/** Shift each letter forward by k places (a→b for k=1), wrapping z→a. */
export function caesarShift(word: string, k: number): string {
  return [...word].map((c) => String.fromCharCode(((c.charCodeAt(0) - 97 + k) % 26) + 97)).join('');
}

/** Caesar cipher with shifts 1–3 on one lowercase word. */
export const caesar: BuiltinTask = {
  name: 'caesar',
  description: 'shift every letter of a word forward by 1 to 3 places in the alphabet',
  generate(rng) {
    const word = someWord(rng, 3, 6);
    const k = rng.int(1, 3);
    const instruction = rng.pick([`Caesar shift ${k}: ${word}`, `Shift each letter of ${word} by ${k}.`]);
    return { instruction, response: caesarShift(word, k) };
  },
  promptPattern: /^(Caesar shift [1-3]: [a-z]+|Shift each letter of [a-z]+ by [1-3]\.)$/,
};

import type { Rng } from '../prng.js';
import type { BuiltinTask } from './types.js';
import { someWord } from './words.js';

function mixedCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng.next() < 0.5 ? c.toUpperCase() : c)).join('');
}

/** Upper-, lower- or title-case a phrase of 1–3 words. */
export const caseTask: BuiltinTask = {
  name: 'case',
  description: 'convert a short phrase to upper case, lower case or title case',
  generate(rng) {
    const words = Array.from({ length: rng.int(1, 3) }, () => someWord(rng, 2, 5));
    const phrase = words.join(' ');
    const kind = rng.int(0, 2);
    if (kind === 0) return { instruction: `Uppercase: ${phrase}`, response: phrase.toUpperCase() };
    if (kind === 1) return { instruction: `Lowercase: ${mixedCase(rng, phrase)}`, response: phrase };
    const title = words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
    return { instruction: `Capitalize: ${phrase}`, response: title };
  },
  promptPattern: /^(Uppercase|Lowercase|Capitalize): [A-Za-z]+( [A-Za-z]+)*$/,
};

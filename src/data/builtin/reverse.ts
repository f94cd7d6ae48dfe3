import type { BuiltinTask } from './types.js';
import { someWord } from './words.js';

/** Reverse the letters of one word. */
export const reverse: BuiltinTask = {
  name: 'reverse',
  description: 'spell a word backwards',
  generate(rng) {
    const word = someWord(rng, 3, 8);
    const instruction = rng.pick([`Reverse: ${word}`, `Reverse the word ${word}.`, `Spell ${word} backwards.`]);
    return { instruction, response: [...word].reverse().join('') };
  },
  promptPattern: /^(Reverse: [a-z]+|Reverse the word [a-z]+\.|Spell [a-z]+ backwards\.)$/,
};

import type { Rng } from '../prng.js';

/** Short common English words: real words make the string tasks look like language. */
export const WORDS: readonly string[] = (
  'apple bread chair dog egg fish grape house ink jam kite lamp moon nest olive pear queen rain ' +
  'sun tree umbrella vase water box yarn zebra cat hat map pen cup bed car bus fox owl ant bee ' +
  'cow pig hen rat bat log sky sea day night star cloud river stone green blue red black white ' +
  'gold silver paper glass metal wood salt sugar milk tea rice corn bean plum lime kiwi fig melon ' +
  'lemon mango peach cherry honey bread table door window garden forest field road bridge tower ' +
  'castle ship train plane horse mouse tiger lion wolf bear snake frog duck goose eagle shark whale ' +
  'robot pencil book music dance light sound storm snow wind fire earth metal piano violin drum ' +
  'clock watch phone chalk brick shell coral pearl amber jade ruby'
)
  .split(' ')
  .filter((w, i, all) => all.indexOf(w) === i);

const CONSONANTS = 'bcdfghjklmnprstvz';
const VOWELS = 'aeiou';

/** A pronounceable made-up word (consonant–vowel syllables), so answers cannot be memorised. */
export function pseudoWord(rng: Rng, minLen: number, maxLen: number): string {
  const len = rng.int(minLen, maxLen);
  let w = '';
  for (let i = 0; i < len; i++) w += i % 2 === 0 ? rng.pick([...CONSONANTS]) : rng.pick([...VOWELS]);
  return w;
}

/** A real word 30% of the time, a made-up one otherwise (a far larger space), within the length bounds. */
export function someWord(rng: Rng, minLen: number, maxLen: number): string {
  if (rng.next() < 0.3) {
    const fits = WORDS.filter((w) => w.length >= minLen && w.length <= maxLen);
    return rng.pick(fits);
  }
  return pseudoWord(rng, minLen, maxLen);
}

import type { BuiltinTask } from './types.js';
import { WORDS } from './words.js';

/** Sort 3–5 numbers (either direction) or 3–4 words alphabetically, space-separated. */
export const sort: BuiltinTask = {
  name: 'sort',
  description: 'sort a short list of numbers (ascending or descending) or words (alphabetically)',
  generate(rng) {
    if (rng.next() < 0.6) {
      const nums = new Set<number>();
      const k = rng.int(3, 5);
      while (nums.size < k) nums.add(rng.int(0, 99));
      const list = [...nums];
      const desc = rng.next() < 0.3;
      const sorted = [...list].sort((x, y) => (desc ? y - x : x - y));
      return { instruction: `Sort${desc ? ' descending' : ''}: ${list.join(' ')}`, response: sorted.join(' ') };
    }
    const words = rng.sample(WORDS.filter((w) => w.length <= 4), rng.int(3, 4));
    const sorted = [...words].sort();
    return { instruction: `Sort words: ${words.join(' ')}`, response: sorted.join(' ') };
  },
  promptPattern: /^Sort( descending| words)?: [a-z0-9]+( [a-z0-9]+)+$/,
};

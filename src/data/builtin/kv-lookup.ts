import type { BuiltinTask } from './types.js';

const KEYS = 'abcdefghijkmnpqrstuvwxyz'.split('');

/** Find a key's value in a small inline table: retrieval from the context, not from memory. */
export const kvLookup: BuiltinTask = {
  name: 'kv-lookup',
  description: 'read the value of one key from a table of 3–5 key=value pairs in the prompt',
  generate(rng) {
    const keys = rng.sample(KEYS, rng.int(3, 5));
    const values = keys.map(() => String(rng.int(0, 99)));
    const i = rng.int(0, keys.length - 1);
    const table = keys.map((k, j) => `${k}=${values[j]}`).join(' ');
    const instruction = rng.pick([`${table}. What is ${keys[i]}?`, `${table}. Value of ${keys[i]}?`]);
    return { instruction, response: values[i] };
  },
  promptPattern: /^[a-z]=\d+( [a-z]=\d+)+\. (What is|Value of) [a-z]\?$/,
};

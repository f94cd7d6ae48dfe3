import type { Rng } from '../prng.js';
import type { BuiltinTask } from './types.js';

const pad2 = (n: number): string => String(n).padStart(2, '0');

function randomDate(rng: Rng): { y: number; m: number; d: number } {
  return { y: rng.int(1950, 2049), m: rng.int(1, 12), d: rng.int(1, 28) };
}

function randomPairs(rng: Rng): Array<[string, number]> {
  const keys = rng.sample('abcdefghxyz'.split(''), rng.int(2, 3));
  return keys.map((k) => [k, rng.int(0, 99)]);
}

/** Reformat a date (ISO ↔ DD/MM/YYYY) or convert key=value pairs to and from compact JSON. */
export const format: BuiltinTask = {
  name: 'format',
  description: 'convert dates between YYYY-MM-DD and DD/MM/YYYY, or key=value pairs to and from JSON',
  generate(rng) {
    const kind = rng.int(0, 3);
    if (kind <= 1) {
      const { y, m, d } = randomDate(rng);
      const iso = `${y}-${pad2(m)}-${pad2(d)}`;
      const dmy = `${pad2(d)}/${pad2(m)}/${y}`;
      return kind === 0
        ? { instruction: `${iso} as DD/MM/YYYY`, response: dmy }
        : { instruction: `${dmy} as YYYY-MM-DD`, response: iso };
    }
    const pairs = randomPairs(rng);
    const kv = pairs.map(([k, v]) => `${k}=${v}`).join(' ');
    const json = JSON.stringify(Object.fromEntries(pairs));
    return kind === 2 ? { instruction: `To JSON: ${kv}`, response: json } : { instruction: `From JSON: ${json}`, response: kv };
  },
  promptPattern: /^(\d{4}-\d\d-\d\d as DD\/MM\/YYYY|\d\d\/\d\d\/\d{4} as YYYY-MM-DD|To JSON: [a-z]=\d+( [a-z]=\d+)*|From JSON: \{.*\})$/,
  check(expected, answer) {
    if (!expected.startsWith('{')) return expected === answer;
    // JSON answers count when they parse to the same object with the same key order, whatever the spacing.
    try {
      return JSON.stringify(JSON.parse(answer)) === expected;
    } catch {
      return false;
    }
  },
};

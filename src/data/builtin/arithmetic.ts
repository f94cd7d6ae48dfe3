import type { Rng } from '../prng.js';
import type { BuiltinTask } from './types.js';

/** A number with 1–4 digits, the digit count drawn first so small and large operands are equally common. */
function operand(rng: Rng): number {
  const digits = rng.int(1, 4);
  return digits === 1 ? rng.int(0, 9) : rng.int(10 ** (digits - 1), 10 ** digits - 1);
}

/** Multi-digit addition and subtraction (results may be negative): needs carries and borrows. */
export const arithmetic: BuiltinTask = {
  name: 'arithmetic',
  description: 'add or subtract two numbers of up to four digits',
  generate(rng) {
    const a = operand(rng);
    const b = operand(rng);
    const add = rng.next() < 0.5;
    const response = String(add ? a + b : a - b);
    const op = add ? '+' : '-';
    const instruction = rng.pick([
      `What is ${a} ${op} ${b}?`,
      `${a} ${op} ${b} =`,
      add ? `Add ${a} and ${b}.` : `Subtract ${b} from ${a}.`,
    ]);
    return { instruction, response };
  },
  promptPattern: /^(What is \d+ [+-] \d+\?|\d+ [+-] \d+ =|Add \d+ and \d+\.|Subtract \d+ from \d+\.)$/,
};

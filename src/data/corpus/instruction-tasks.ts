/**
 * Instruction → answer generators of the pretraining corpus: counting, spelling, number words,
 * comparisons, categories, in-context facts. They teach the format ("a request, a newline, a
 * short exact answer"), digits, letters and words, while none of them is one of the built-in
 * fine-tuning tasks (arithmetic, reverse, sort, caesar, case, kv-lookup, format): those stay
 * held out so that LoRA has something to learn. tests/pretraining/corpus.test.ts checks it.
 */
import type { Rng } from '../prng.js';
import { ALPHABET, CATEGORIES, CATEGORY_NAMES, COLORS, DAYS, MONTHS, NAMES, numberToWords, plural } from './lexicon.js';

export interface CorpusDraw {
  instruction: string;
  response: string;
  /** Optional Alpaca-style context, rendered under "### Input:" or after a blank line. */
  input?: string;
}

export type InstructionGenerator = (rng: Rng) => CorpusDraw;

const allWords = Object.values(CATEGORIES).flat();
const word = (rng: Rng): string => rng.pick(allWords);
const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth'];
/** A number whose digit count (1–4) is drawn first, as in the built-in tasks. */
const anyNumber = (rng: Rng): number => {
  const d = rng.int(1, 4);
  return d === 1 ? rng.int(0, 9) : rng.int(10 ** (d - 1), 10 ** d - 1);
};

function countRange(rng: Rng): CorpusDraw {
  const start = rng.int(0, 95);
  const end = start + rng.int(2, 7);
  const seq = Array.from({ length: end - start + 1 }, (_, i) => String(start + i)).join(' ');
  return rng.pick([
    { instruction: `Count from ${start} to ${end}.`, response: seq },
    { instruction: `List the numbers from ${start} to ${end}.`, response: seq },
  ]);
}

function neighbourNumber(rng: Rng): CorpusDraw {
  const n = anyNumber(rng) + 1;
  return rng.next() < 0.6
    ? { instruction: rng.pick([`What number comes after ${n}?`, `Which number follows ${n}?`]), response: String(n + 1) }
    : { instruction: `What number comes before ${n}?`, response: String(n - 1) };
}

function neighbourLetter(rng: Rng): CorpusDraw {
  const i = rng.int(1, 24);
  return rng.next() < 0.6
    ? { instruction: `Which letter comes after ${ALPHABET[i]}?`, response: ALPHABET[i + 1] }
    : { instruction: `Which letter comes before ${ALPHABET[i]}?`, response: ALPHABET[i - 1] };
}

function letterPosition(rng: Rng): CorpusDraw {
  const i = rng.int(0, 25);
  return rng.next() < 0.5
    ? { instruction: `What is letter number ${i + 1} of the alphabet?`, response: ALPHABET[i] }
    : { instruction: `Where is ${ALPHABET[i]} in the alphabet?`, response: String(i + 1) };
}

function spelling(rng: Rng): CorpusDraw {
  const w = word(rng);
  const spaced = [...w].join(' ');
  const kind = rng.int(0, 3);
  if (kind === 0) return { instruction: `Spell the word ${w} with spaces.`, response: spaced };
  if (kind === 1) return { instruction: `Join the letters ${spaced}.`, response: w };
  if (kind === 2) return { instruction: `What is the first letter of ${w}?`, response: w[0] };
  return { instruction: `What is the last letter of ${w}?`, response: w[w.length - 1] };
}

function counting(rng: Rng): CorpusDraw {
  const kind = rng.int(0, 2);
  if (kind === 0) {
    const w = word(rng);
    return { instruction: `How many letters are in the word ${w}?`, response: String(w.length) };
  }
  if (kind === 1) {
    const ws = Array.from({ length: rng.int(2, 6) }, () => word(rng));
    return { instruction: 'How many words are in this text?', input: ws.join(' '), response: String(ws.length) };
  }
  const n = anyNumber(rng);
  return { instruction: `How many digits does ${n} have?`, response: String(String(n).length) };
}

function numberWords(rng: Rng): CorpusDraw {
  const n = rng.next() < 0.5 ? rng.int(0, 99) : anyNumber(rng);
  return rng.next() < 0.6
    ? { instruction: `Write ${n} in words.`, response: numberToWords(n) }
    : { instruction: `Write ${numberToWords(n)} as a number.`, response: String(n) };
}

function compareNumbers(rng: Rng): CorpusDraw {
  const a = anyNumber(rng);
  let b = anyNumber(rng);
  if (b === a) b = a + 1;
  const larger = rng.next() < 0.5;
  return {
    instruction: `Which is ${larger ? 'larger' : 'smaller'}, ${a} or ${b}?`,
    response: String(larger ? Math.max(a, b) : Math.min(a, b)),
  };
}

function parityAndRounding(rng: Rng): CorpusDraw {
  const n = anyNumber(rng);
  const kind = rng.int(0, 2);
  if (kind === 0) return { instruction: `Is ${n} even or odd?`, response: n % 2 === 0 ? 'even' : 'odd' };
  if (kind === 1) return { instruction: `Round ${n} to the nearest ten.`, response: String(Math.round(n / 10) * 10) };
  const big = rng.int(1000, 999999);
  return { instruction: `Write ${big} with commas.`, response: big.toLocaleString('en-US') };
}

function categories(rng: Rng): CorpusDraw {
  const cat = rng.pick(CATEGORY_NAMES);
  const items = CATEGORIES[cat];
  const kind = rng.int(0, 3);
  if (kind === 0) return { instruction: `Name one of the ${cat}.`, response: rng.pick(items) };
  if (kind === 1) {
    const k = rng.int(2, 4);
    return { instruction: `List ${numberToWords(k)} ${cat}.`, response: rng.sample(items, k).join(', ') };
  }
  if (kind === 2) {
    const other = rng.pick(CATEGORY_NAMES.filter((c) => c !== cat));
    const w = rng.pick(items);
    const [x, y] = rng.next() < 0.5 ? [cat, other] : [other, cat];
    return { instruction: `Is ${w} one of the ${x} or one of the ${y}?`, response: cat };
  }
  const odd = rng.pick(CATEGORIES[rng.pick(CATEGORY_NAMES.filter((c) => c !== cat))]);
  const group = rng.shuffle([...rng.sample(items, 3), odd]);
  return { instruction: `Which word does not belong: ${group.join(', ')}?`, response: odd };
}

function wordFacts(rng: Rng): CorpusDraw {
  const kind = rng.int(0, 2);
  if (kind === 0) {
    const w = rng.pick([...CATEGORIES.animals, ...CATEGORIES.things, ...CATEGORIES.tools]);
    return { instruction: `What is the plural of ${w}?`, response: plural(w) };
  }
  if (kind === 1) {
    const a = word(rng);
    let b = word(rng);
    while (b.length === a.length) b = word(rng);
    return { instruction: `Which word is longer, ${a} or ${b}?`, response: a.length > b.length ? a : b };
  }
  const w = word(rng);
  const times = rng.int(2, 4);
  return { instruction: `Say ${w} ${numberToWords(times)} times.`, response: Array(times).fill(w).join(' ') };
}

function copying(rng: Rng): CorpusDraw {
  const text = Array.from({ length: rng.int(1, 4) }, () => (rng.next() < 0.3 ? rng.pick(COLORS) : word(rng))).join(' ');
  return rng.pick([
    { instruction: `Copy this text: ${text}`, response: text },
    { instruction: 'Repeat the text exactly.', input: text, response: text },
  ]);
}

function calendar(rng: Rng): CorpusDraw {
  const kind = rng.int(0, 2);
  if (kind === 0) {
    const i = rng.int(0, 6);
    return { instruction: `What day comes after ${DAYS[i]}?`, response: DAYS[(i + 1) % 7] };
  }
  const m = rng.int(0, 11);
  return kind === 1
    ? { instruction: `What is the ${ORDINALS[m]} month of the year?`, response: MONTHS[m] }
    : { instruction: `Which month number is ${MONTHS[m]}?`, response: String(m + 1) };
}

/** Facts about made-up people stated in the prompt, then a question about one of them. */
function entityFacts(rng: Rng): CorpusDraw {
  const people = rng.sample(NAMES, rng.int(2, 3));
  const facts = people.map((name) => ({ name, color: rng.pick(COLORS), thing: rng.pick(CATEGORIES.things), age: rng.int(5, 90), place: rng.pick(CATEGORIES.places) }));
  const story = facts.map((f) => `${f.name} is ${f.age} years old and has a ${f.color} ${f.thing}.`).join(' ');
  const f = rng.pick(facts);
  const q = rng.int(0, 2);
  if (q === 0) return { instruction: 'Answer the question.', input: `${story} How old is ${f.name}?`, response: String(f.age) };
  if (q === 1) return { instruction: 'Answer the question.', input: `${story} What color is the ${f.thing} of ${f.name}?`, response: f.color };
  const unique = facts.filter((g) => g.thing === f.thing).length === 1;
  return unique
    ? { instruction: 'Answer the question.', input: `${story} Who has the ${f.thing}?`, response: f.name }
    : { instruction: 'Answer the question.', input: `${story} What does ${f.name} have?`, response: `a ${f.color} ${f.thing}` };
}

/**
 * Every generator with its relative weight. The ones that copy from the prompt (copying, spelling,
 * counting ranges, facts stated in the prompt) weigh more: a tiny model learns in-context
 * copying last, and most fine-tuning tasks need it.
 */
export const INSTRUCTION_GENERATORS: ReadonlyArray<{ name: string; weight: number; generate: InstructionGenerator }> = [
  { name: 'count-range', weight: 1.5, generate: countRange },
  { name: 'neighbour-number', weight: 1, generate: neighbourNumber },
  { name: 'neighbour-letter', weight: 1, generate: neighbourLetter },
  { name: 'letter-position', weight: 0.5, generate: letterPosition },
  { name: 'spelling', weight: 2, generate: spelling },
  { name: 'counting', weight: 1, generate: counting },
  { name: 'number-words', weight: 1, generate: numberWords },
  { name: 'compare-numbers', weight: 1, generate: compareNumbers },
  { name: 'parity-rounding', weight: 1, generate: parityAndRounding },
  { name: 'categories', weight: 1, generate: categories },
  { name: 'word-facts', weight: 1, generate: wordFacts },
  { name: 'copying', weight: 2, generate: copying },
  { name: 'calendar', weight: 0.5, generate: calendar },
  { name: 'entity-facts', weight: 2, generate: entityFacts },
];

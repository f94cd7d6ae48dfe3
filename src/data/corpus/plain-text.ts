/**
 * Plain English-like prose for the pretraining corpus: short templated stories, category facts,
 * lists and counts, so the model learns word statistics, capitals and punctuation besides the
 * instruction format.
 */
import type { Rng } from '../prng.js';
import { ADJECTIVES, CATEGORIES, CATEGORY_NAMES, COLORS, DAYS, MONTHS, NAMES, VERBS_PAST, numberToWords, plural } from './lexicon.js';

const capitalize = (s: string): string => s[0].toUpperCase() + s.slice(1);
const article = (w: string): string => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);

function story(rng: Rng): string {
  const [a, b] = rng.sample(NAMES, 2);
  const thing = rng.pick(CATEGORIES.things);
  const adj = rng.pick(ADJECTIVES);
  const color = rng.pick(COLORS);
  const place = rng.pick(CATEGORIES.places);
  const sentences = [
    `${a} ${rng.pick(VERBS_PAST)} ${article(adj)} ${color} ${thing} at the ${place} on ${rng.pick(DAYS)}.`,
    rng.pick([`${a} gave it to ${b}.`, `${b} wanted it too.`, `It was ${rng.pick(ADJECTIVES)}.`, `${b} was there with ${a}.`]),
    rng.pick([
      `Later they ate ${rng.pick(CATEGORIES.foods)} and ${rng.pick(CATEGORIES.foods)}.`,
      `The ${rng.pick(CATEGORIES.animals)} watched them from the ${rng.pick(CATEGORIES.places)}.`,
      `${b} works as ${article(rng.pick(CATEGORIES.jobs))}.`,
      `That was in ${rng.pick(MONTHS)}.`,
    ]),
  ];
  return sentences.slice(0, rng.int(2, 3)).join(' ');
}

function categoryFacts(rng: Rng): string {
  const lines = Array.from({ length: rng.int(2, 4) }, () => {
    const cat = rng.pick(CATEGORY_NAMES);
    const w = rng.pick(CATEGORIES[cat]);
    return rng.pick([
      `${capitalize(article(w))} is one of the ${cat}.`,
      `${capitalize(plural(w))} are ${cat}.`,
      `The word ${w} has ${numberToWords(w.length)} letters.`,
      `${capitalize(w)} starts with ${w[0]} and ends with ${w[w.length - 1]}.`,
    ]);
  });
  return lines.join(' ');
}

function list(rng: Rng): string {
  const cat = rng.pick(CATEGORY_NAMES);
  const items = rng.sample(CATEGORIES[cat], rng.int(3, 5));
  return rng.pick([
    `${capitalize(cat)}: ${items.join(', ')}.`,
    `Some ${cat} are ${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}.`,
    items.map((w, i) => `${i + 1}. ${w}`).join('\n'),
  ]);
}

function counts(rng: Rng): string {
  const place = rng.pick(CATEGORIES.places);
  const [x, y] = rng.sample(CATEGORIES.animals, 2);
  const n = rng.int(2, 60);
  const m = rng.int(2, 60);
  return rng.pick([
    `There are ${n} ${plural(x)} and ${m} ${plural(y)} near the ${place}.`,
    `The ${place} has ${numberToWords(n)} ${plural(x)}.`,
    `${rng.pick(NAMES)} counted ${n} ${plural(x)} on ${rng.pick(DAYS)} and ${m} on ${rng.pick(DAYS)}.`,
    `In ${rng.pick(MONTHS)} ${rng.int(1950, 2049)} the ${place} opened at ${rng.int(6, 11)} o'clock.`,
  ]);
}

function numberText(rng: Rng): string {
  const start = rng.int(0, 90);
  const len = rng.int(3, 8);
  const seq = Array.from({ length: len }, (_, i) => start + i);
  return rng.pick([
    seq.join(', ') + '.',
    seq.map((n) => numberToWords(n)).join(', ') + '.',
    `${capitalize(numberToWords(seq[0]))} is written ${seq[0]}.`,
  ]);
}

/** Every plain-text generator with its relative weight. */
export const TEXT_GENERATORS: ReadonlyArray<{ name: string; weight: number; generate: (rng: Rng) => string }> = [
  { name: 'story', weight: 2, generate: story },
  { name: 'category-facts', weight: 1, generate: categoryFacts },
  { name: 'list', weight: 1, generate: list },
  { name: 'counts', weight: 1, generate: counts },
  { name: 'number-text', weight: 1, generate: numberText },
];

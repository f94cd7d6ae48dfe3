/**
 * Word lists of the pretraining corpus. Kept apart from the built-in tasks' own list
 * (src/data/builtin/words.ts) on purpose only in spirit: sharing everyday words is fine, since
 * what the corpus must not contain is the tasks' mappings, not their vocabulary.
 */

export const NAMES = [
  'Ada', 'Ben', 'Cleo', 'Dan', 'Eva', 'Finn', 'Gia', 'Hugo', 'Ivy', 'Jack', 'Kim', 'Leo', 'Mia', 'Nora',
  'Omar', 'Pia', 'Quinn', 'Rosa', 'Sam', 'Tara', 'Uma', 'Vic', 'Wen', 'Yara', 'Zoe', 'Tom', 'Lena', 'Max',
] as const;

export const COLORS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'brown', 'pink', 'orange', 'purple', 'grey'] as const;

export const CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  animals: ['cat', 'dog', 'fox', 'owl', 'bee', 'cow', 'pig', 'hen', 'horse', 'mouse', 'tiger', 'lion', 'wolf', 'bear', 'frog', 'duck', 'goat', 'sheep', 'whale', 'shark'],
  fruits: ['apple', 'pear', 'plum', 'grape', 'lemon', 'lime', 'mango', 'peach', 'cherry', 'melon', 'kiwi', 'fig', 'banana', 'orange'],
  tools: ['hammer', 'saw', 'drill', 'rope', 'knife', 'spade', 'brush', 'ladder', 'wrench', 'needle'],
  places: ['park', 'market', 'school', 'river', 'forest', 'beach', 'garden', 'library', 'station', 'harbor', 'village', 'bridge'],
  foods: ['bread', 'rice', 'soup', 'cheese', 'honey', 'milk', 'tea', 'cake', 'beans', 'corn', 'eggs', 'salad'],
  things: ['kite', 'lamp', 'book', 'cup', 'hat', 'box', 'ball', 'clock', 'chair', 'bag', 'key', 'map', 'pen', 'bell', 'drum', 'shoe'],
  jobs: ['baker', 'farmer', 'teacher', 'doctor', 'pilot', 'painter', 'sailor', 'singer', 'builder', 'writer'],
};

export const CATEGORY_NAMES = Object.keys(CATEGORIES);

export const ADJECTIVES = ['big', 'small', 'old', 'new', 'quiet', 'loud', 'happy', 'sleepy', 'quick', 'slow', 'bright', 'dark', 'warm', 'cold', 'soft', 'tall'] as const;

export const VERBS_PAST = ['found', 'saw', 'bought', 'painted', 'lost', 'carried', 'cleaned', 'fixed', 'liked', 'wanted', 'washed', 'shared'] as const;

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

export const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** English words for 0–9999 ("four thousand two hundred seven", "forty-two"). */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 9999) throw new RangeError(`numberToWords: ${n} is outside 0..9999`);
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? `-${ONES[n % 10]}` : '');
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} hundred` + (n % 100 ? ` ${numberToWords(n % 100)}` : '');
  return `${ONES[Math.floor(n / 1000)]} thousand` + (n % 1000 ? ` ${numberToWords(n % 1000)}` : '');
}

const IRREGULAR_PLURALS: Record<string, string> = { mouse: 'mice', sheep: 'sheep', knife: 'knives', shoe: 'shoes', fish: 'fish' };

/** English plural of the nouns above. */
export function plural(noun: string): string {
  if (IRREGULAR_PLURALS[noun]) return IRREGULAR_PLURALS[noun];
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

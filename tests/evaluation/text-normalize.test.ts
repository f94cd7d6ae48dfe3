import { describe, expect, test } from 'vitest';
import { collapseWhitespace, normalizeAnswer, normalizeStrict } from '../../src/evaluation/text-normalize.js';

describe('normalizeAnswer (SQuAD v1.1)', () => {
  test.each([
    ['The Eiffel Tower!', 'eiffel tower'],
    ['  an Apple, a pear  ', 'apple pear'],
    ["don't", 'dont'],
    ['the-end', 'theend'], // punctuation goes first, so "the" is no longer a word
    ['There and then', 'there and then'], // articles only as whole words
    ['A', ''],
    ['new\u00a0york\ncity', 'new york city'],
    ['Paris’', 'paris’'], // only ASCII punctuation (string.punctuation) is removed
    ['théa', 'théa'], // Python's \b is Unicode-aware: "a" inside a word stays
    ['à la carte', 'à la carte'],
    ['an_a', 'ana'], // "_" is in string.punctuation, so this is one word, not two articles
  ])('%j → %j', (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });

  test('whitespace as Python str.split() sees it', () => {
    expect(collapseWhitespace('a\x1cb\x85c')).toBe('a b c'); // Python splits on these, JS \s does not
    expect(collapseWhitespace('a\ufeffb')).toBe('a\ufeffb'); // JS \s includes BOM, Python does not
  });

  test('strict only trims', () => {
    expect(normalizeStrict('  The End.\n')).toBe('The End.');
  });
});

import { expect, test } from 'vitest';
import { exactMatch, exactMatchStrict } from '../../src/evaluation/metrics-exact-match.js';

test('normalised exact match forgives case, ASCII punctuation, articles and spacing', () => {
  expect(exactMatch('The Eiffel Tower!', 'eiffel tower')).toBe(1);
  expect(exactMatch('  an apple ', 'Apple')).toBe(1);
  expect(exactMatch('the-end', 'end')).toBe(0);
  expect(exactMatch('Paris’', 'Paris')).toBe(0);
  expect(exactMatch('42', '42.0')).toBe(0);
});

test('strict exact match forgives surrounding whitespace only', () => {
  expect(exactMatchStrict('  Paris\n', 'Paris')).toBe(1);
  expect(exactMatchStrict('paris', 'Paris')).toBe(0);
  expect(exactMatchStrict('Paris.', 'Paris')).toBe(0);
  expect(exactMatch('paris', 'Paris', 'strict')).toBe(0);
});

test('several references: any one is enough; none is a miss', () => {
  expect(exactMatch('4', ['four', '4'])).toBe(1);
  expect(exactMatch('five', ['four', '4'])).toBe(0);
  expect(exactMatch('4', [])).toBe(0);
});

import { describe, expect, test } from 'vitest';
import { lcsLength, rougeL, rougeTokenize } from '../../src/evaluation/rouge.js';

describe('rougeTokenize (rouge-score default tokenizer)', () => {
  test.each([
    ['Hello, World! It\'s 2024.', ['hello', 'world', 'it', 's', '2024']],
    ['café naïve', ['caf', 'na', 've']], // non-ASCII letters are separators, as in rouge-score
    ['  multiple   spaces\tand\nlines ', ['multiple', 'spaces', 'and', 'lines']],
    ['!!! — ¿?', []],
    ['', []],
    ['snake_case-and.dots', ['snake', 'case', 'and', 'dots']],
  ])('%j', (text, tokens) => {
    expect(rougeTokenize(text)).toEqual(tokens);
  });
});

describe('lcsLength', () => {
  test('hand cases', () => {
    expect(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a'])).toBe(4); // CLRS: b c b a
    expect(lcsLength(['a', 'b'], ['b', 'a'])).toBe(1);
    expect(lcsLength([], ['a'])).toBe(0);
    expect(lcsLength(['x', 'y', 'z'], ['x', 'y', 'z'])).toBe(3);
  });
});

describe('rougeL', () => {
  test('one substituted word: LCS 5 of 6 on both sides', () => {
    // the cat [sat|is] on the mat → LCS = the cat on the mat
    const s = rougeL('the cat sat on the mat', 'the cat is on the mat');
    expect(s.precision).toBeCloseTo(5 / 6, 12);
    expect(s.recall).toBeCloseTo(5 / 6, 12);
    expect(s.f1).toBeCloseTo(5 / 6, 12);
  });

  test('the rouge-score README example (prediction second in Python, first here)', () => {
    // scorer.score('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.')
    // → rougeL Score(precision=0.625, recall=0.5555555555555556, fmeasure=0.5882352941176471)
    const s = rougeL('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog');
    expect(s.precision).toBe(0.625);
    expect(s.recall).toBeCloseTo(5 / 9, 15);
    expect(s.f1).toBeCloseTo(0.5882352941176471, 15);
  });

  test('repeated tokens count once per match', () => {
    // prediction a a a a, reference a b a: LCS = a a (2); P = 2/4, R = 2/3, F = 2·(1/2)(2/3)/(7/6) = 4/7
    const s = rougeL('a a a a', 'a b a');
    expect(s.precision).toBe(0.5);
    expect(s.recall).toBeCloseTo(2 / 3, 15);
    expect(s.f1).toBeCloseTo(4 / 7, 15);
    // the the the vs the cat the: LCS 2 of 3 each way
    expect(rougeL('the the the', 'the cat the').f1).toBeCloseTo(2 / 3, 15);
  });

  test('order matters (a subsequence, not a bag of words)', () => {
    expect(rougeL('b a', 'a b')).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
  });

  test('case and punctuation are ignored', () => {
    expect(rougeL('Paris.', 'paris')).toEqual({ precision: 1, recall: 1, f1: 1 });
  });

  test('an empty side scores 0, even against an empty side', () => {
    const zero = { precision: 0, recall: 0, f1: 0 };
    expect(rougeL('', 'the answer')).toEqual(zero);
    expect(rougeL('the answer', '')).toEqual(zero);
    expect(rougeL('', '')).toEqual(zero);
    expect(rougeL('!!!', '???')).toEqual(zero); // no [a-z0-9] token on either side
  });

  test('no common token: F1 is 0, not NaN', () => {
    expect(rougeL('alpha beta', 'gamma')).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  test('several references: the best F1 wins (score_multi)', () => {
    const s = rougeL('the cat sat', ['a dog', 'the cat sat down', 'cat']);
    // vs "the cat sat down": P = 3/3, R = 3/4, F = 6/7; vs "cat": P 1/3, R 1, F 1/2
    expect(s.precision).toBe(1);
    expect(s.recall).toBe(0.75);
    expect(s.f1).toBeCloseTo(6 / 7, 15);
  });
});

import { describe, expect, test } from 'vitest';
import {
  BUILTIN_DATASET_NAMES,
  BUILTIN_TASK_NAMES,
  checkAnswer,
  generateTaskExamples,
  matchBuiltinTask,
  UnknownBuiltinTaskError,
} from '../../src/data/builtin/index.js';
import { caesarShift } from '../../src/data/builtin/caesar.js';
import { encodeExample } from '../../src/data/encode.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { makeTokenizerDir } from './fixtures.js';

describe('built-in tasks', () => {
  test('the registry lists the tasks and mix', () => {
    expect(BUILTIN_TASK_NAMES).toEqual(['arithmetic', 'reverse', 'sort', 'caesar', 'case', 'kv-lookup', 'format']);
    expect(BUILTIN_DATASET_NAMES).toContain('mix');
    expect(() => generateTaskExamples('nope', 1, 0)).toThrow(UnknownBuiltinTaskError);
  });

  test.each([...BUILTIN_TASK_NAMES, 'mix'])('%s: same seed, same examples; another seed, others', (task) => {
    const a = generateTaskExamples(task, 50, 7);
    expect(generateTaskExamples(task, 50, 7)).toEqual(a);
    const b = generateTaskExamples(task, 50, 8);
    expect(b.map((e) => e.instruction)).not.toEqual(a.map((e) => e.instruction));
    // A prefix of a longer stream: n does not change what the first examples are.
    expect(generateTaskExamples(task, 10, 7)).toEqual(a.slice(0, 10));
  });

  test.each([...BUILTIN_TASK_NAMES, 'mix'])('%s: answers check, wrong answers do not, prompts are recognised', (task) => {
    const examples = generateTaskExamples(task, 300, 1);
    for (const ex of examples) {
      expect(checkAnswer(ex, ex.response)).toBe(true);
      expect(checkAnswer(ex, ` ${ex.response}\n`)).toBe(true);
      expect(checkAnswer(ex, `${ex.response}0`)).toBe(false);
      expect(matchBuiltinTask(ex.instruction)).toBe(ex.task);
    }
    // Variety: a task that always said the same thing would teach nothing about rank.
    expect(new Set(examples.map((e) => e.instruction)).size).toBeGreaterThan(250);
  });

  test('answers are right (spot checks against independent computation)', () => {
    for (const ex of generateTaskExamples('arithmetic', 200, 3)) {
      const m = /(\d+) ([+-]) (\d+)|Add (\d+) and (\d+)|Subtract (\d+) from (\d+)/.exec(ex.instruction)!;
      const [a, op, b] = m[1] ? [+m[1], m[2], +m[3]] : m[4] ? [+m[4], '+', +m[5]] : [+m[7], '-', +m[6]];
      expect(Number(ex.response)).toBe(op === '+' ? a + b : a - b);
    }
    for (const ex of generateTaskExamples('kv-lookup', 100, 3)) {
      const key = /(?:What is|Value of) ([a-z])\?$/.exec(ex.instruction)![1];
      expect(ex.instruction).toMatch(new RegExp(`(^| )${key}=${ex.response}[. ]`));
    }
    expect(caesarShift('xyz', 3)).toBe('abc');
    expect(checkAnswer({ task: 'format', response: '{"a":1,"b":2}' }, '{ "a": 1, "b": 2 }')).toBe(true);
    expect(checkAnswer({ task: 'format', response: '{"a":1,"b":2}' }, '{"b":2,"a":1}')).toBe(false);
    expect(matchBuiltinTask('Give three tips for staying healthy.')).toBeNull();
  });

  test('examples stay short: under 64 tokens with the tiny tokenizer and the plain template', () => {
    const tok = loadTokenizer(makeTokenizerDir());
    for (const task of BUILTIN_TASK_NAMES) {
      const lengths = generateTaskExamples(task, 500, 11).map((ex) => encodeExample(tok, 'plain', ex).input_ids.length);
      expect(Math.max(...lengths), task).toBeLessThan(64);
    }
  });
});

import { describe, expect, test } from 'vitest';
import { BUILTIN_TASK_NAMES, generateTaskExamples, matchBuiltinTask } from '../../src/data/builtin/index.js';
import { generateCorpus, INSTRUCTION_GENERATORS, numberToWords, plural, TEXT_GENERATORS } from '../../src/data/corpus/index.js';

const docs = generateCorpus({ seed: 0, documents: 20_000 });

describe('pretraining corpus', () => {
  test('is a pure function of the seed', () => {
    const again = generateCorpus({ seed: 0, documents: 500 });
    expect(again).toEqual(docs.slice(0, 500));
    const other = generateCorpus({ seed: 1, documents: 500 });
    expect(other.filter((d, i) => d.text === again[i].text).length).toBeLessThan(100);
  });

  test('holds out every built-in task: no instruction, input or line matches a task prompt', () => {
    const leaks: string[] = [];
    for (const d of docs) {
      const candidates = [d.instruction ?? '', d.input ?? '', ...d.text.split('\n')];
      for (const c of candidates) if (c.trim() && matchBuiltinTask(c) !== null) leaks.push(`${matchBuiltinTask(c)}: ${c}`);
    }
    expect(leaks).toEqual([]);
  });

  test('contains no built-in task example (instruction followed by its answer)', () => {
    const text = docs.map((d) => d.text).join('\n\n');
    for (const task of BUILTIN_TASK_NAMES) {
      for (const ex of generateTaskExamples(task, 300, 7)) expect(text.includes(`${ex.instruction}\n${ex.response}`), `${task}: ${ex.instruction}`).toBe(false);
    }
  });

  test('the task patterns are live: they do recognise real task prompts', () => {
    for (const task of BUILTIN_TASK_NAMES) for (const ex of generateTaskExamples(task, 20, 3)) expect(matchBuiltinTask(ex.instruction)).toBe(task);
  });

  test('draws every generator and every template, about 70% instructions', () => {
    const sources = new Set(docs.map((d) => d.source));
    for (const g of INSTRUCTION_GENERATORS) expect(sources.has(`instruction:${g.name}`), g.name).toBe(true);
    for (const g of TEXT_GENERATORS) expect(sources.has(`text:${g.name}`), g.name).toBe(true);
    expect(new Set(docs.map((d) => d.template).filter(Boolean))).toEqual(new Set(['plain', 'alpaca', 'chatml', 'qa']));
    const share = docs.filter((d) => d.instruction !== undefined).length / docs.length;
    expect(share).toBeGreaterThan(0.67);
    expect(share).toBeLessThan(0.73);
    expect(new Set(docs.map((d) => d.text)).size).toBeGreaterThan(0.6 * docs.length);
  });

  test('plain-template documents are the instruction, a newline, then the answer', () => {
    const plain = docs.find((d) => d.template === 'plain' && !d.input)!;
    expect(plain.text.startsWith(`${plain.instruction}\n`)).toBe(true);
    expect(plain.text.split('\n')).toHaveLength(2);
  });

  test('number words and plurals', () => {
    expect(numberToWords(0)).toBe('zero');
    expect(numberToWords(42)).toBe('forty-two');
    expect(numberToWords(700)).toBe('seven hundred');
    expect(numberToWords(9019)).toBe('nine thousand nineteen');
    expect(() => numberToWords(10_000)).toThrow(RangeError);
    expect([plural('box'), plural('mouse'), plural('fox'), plural('key'), plural('lady')]).toEqual(['boxes', 'mice', 'foxes', 'keys', 'ladies']);
  });
});

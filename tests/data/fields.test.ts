import { describe, expect, test } from 'vitest';
import { FieldMappingError } from '../../src/data/errors.js';
import { checkFieldMap, detectFieldMap, parseFieldsOption, rowToExample } from '../../src/data/fields.js';

describe('field mapping', () => {
  test('detects Alpaca, prompt/completion, prompt/response and chat rows', () => {
    expect(detectFieldMap([{ instruction: 'a', input: '', output: 'b' }])).toEqual({ kind: 'columns', instruction: 'instruction', input: 'input', response: 'output', system: undefined });
    expect(detectFieldMap([{ prompt: 'a', completion: 'b' }])).toMatchObject({ instruction: 'prompt', response: 'completion' });
    expect(detectFieldMap([{ prompt: 'a', response: 'b' }])).toMatchObject({ instruction: 'prompt', response: 'response' });
    expect(detectFieldMap([{ messages: [] }])).toEqual({ kind: 'chat', messages: 'messages' });
    expect(() => detectFieldMap([{ question: 'a', answer: 'b' }])).toThrow(FieldMappingError);
    expect(() => detectFieldMap([{ question: 'a', answer: 'b' }])).toThrow(/columns: question, answer/);
  });

  test('--fields overrides the mapping', () => {
    expect(parseFieldsOption('prompt=question, response=answer,input=ctx')).toEqual({ kind: 'columns', instruction: 'question', response: 'answer', input: 'ctx', system: undefined });
    expect(parseFieldsOption('messages=conv')).toEqual({ kind: 'chat', messages: 'conv' });
    expect(() => parseFieldsOption('prompt=q')).toThrow(/both an instruction/);
    expect(() => parseFieldsOption('question=q,response=a')).toThrow(/unknown role "question"/);
    const rows = [{ question: 'Q', answer: 'A', ctx: 'C' }];
    expect(checkFieldMap(parseFieldsOption('prompt=question,response=answer,input=ctx'), rows)).toMatchObject({ input: 'ctx' });
    expect(() => checkFieldMap(parseFieldsOption('prompt=question,response=answer,input=context'), rows)).toThrow(/names column "context" that the rows do not have/);
    const map = parseFieldsOption('prompt=question,response=answer');
    expect(rowToExample({ question: 'Q', answer: 'A' }, map)).toEqual({ ok: { instruction: 'Q', input: '', response: 'A', system: undefined } });
  });

  test('bad rows get one reason each; a literal "missing_field" value is just text', () => {
    const map = detectFieldMap([{ instruction: '', input: '', output: '' }]);
    expect(rowToExample('x', map)).toEqual({ drop: 'not_an_object' });
    expect(rowToExample({ instruction: 'a' }, map)).toEqual({ drop: 'missing_field' });
    expect(rowToExample({ instruction: 1, output: null }, map)).toEqual({ drop: 'missing_field' });
    expect(rowToExample({ instruction: 'a', output: ['b'] }, map)).toEqual({ drop: 'non_string_field' });
    expect(rowToExample({ instruction: 'a', input: 3, output: 'b' }, map)).toEqual({ drop: 'non_string_field' });
    expect(rowToExample({ instruction: ' ', output: 'b' }, map)).toEqual({ drop: 'empty_prompt' });
    expect(rowToExample({ instruction: 'a', output: '\n' }, map)).toEqual({ drop: 'empty_response' });
    expect(rowToExample({ instruction: 'missing_field', output: 'b' }, map)).toMatchObject({ ok: { instruction: 'missing_field' } });
  });

  test('chat rows: system, history, last user turn and reply; ShareGPT spelling', () => {
    const map = { kind: 'chat' as const, messages: 'messages' };
    const row = {
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'u1' },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: 'u2' },
        { role: 'assistant', content: 'a2' },
      ],
    };
    expect(rowToExample(row, map)).toEqual({
      ok: { instruction: 'u2', input: '', response: 'a2', system: 'S', history: [{ role: 'user', content: 'u1' }, { role: 'assistant', content: 'a1' }] },
    });
    expect(rowToExample({ messages: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'r' }] }, map)).toMatchObject({ ok: { instruction: 'q', response: 'r' } });
    expect(rowToExample({ messages: [{ role: 'user', content: 'q' }] }, map)).toEqual({ drop: 'bad_messages' });
    expect(rowToExample({ messages: 'x' }, map)).toEqual({ drop: 'bad_messages' });
    expect(rowToExample({}, map)).toEqual({ drop: 'missing_field' });
    expect(rowToExample({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 7 }] }, map)).toEqual({ drop: 'non_string_field' });
  });
});

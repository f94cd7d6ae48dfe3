import { describe, expect, test } from 'vitest';
import { encodeExample, encodePrompt, fitToLength, IGNORE_INDEX } from '../../src/data/encode.js';
import { renderPrompt, TemplateError } from '../../src/data/templates.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { CHATML_JINJA, makeTokenizerDir } from './fixtures.js';

const tok = loadTokenizer(makeTokenizerDir());
const chatTok = loadTokenizer(makeTokenizerDir({ chatTemplate: CHATML_JINJA }));

describe('templates', () => {
  test('alpaca: the Stanford prompts, with and without input', () => {
    expect(renderPrompt('alpaca', { instruction: 'Translate.', input: 'Hi', response: 'Salut' }, tok)).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
        'Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nTranslate.\n\n### Input:\nHi\n\n### Response:\n',
    );
    expect(renderPrompt('alpaca', { instruction: 'Say {input} hi.', input: '', response: 'hi' }, tok)).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nSay {input} hi.\n\n### Response:\n',
    );
  });

  test('chatml and plain', () => {
    expect(renderPrompt('chatml', { instruction: 'Hi', system: 'Be brief.', response: '' }, tok)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderPrompt('plain', { instruction: 'Reverse: cat', response: 'tac' }, tok)).toBe('Reverse: cat\n');
    expect(renderPrompt('plain', { instruction: 'Add.', input: '2 3', response: '5' }, tok)).toBe('Add.\n2 3\n');
  });

  test('model: the tokenizer chat_template through jinja, generation prompt for the prompt part', () => {
    const ex = { instruction: 'Hi', response: 'Hello!' };
    expect(renderPrompt('model', ex, chatTok)).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    const enc = encodeExample(chatTok, 'model', ex);
    // The completion is what the template puts after the prompt: the reply and its end-of-turn marker.
    const labelled = enc.labels.filter((l) => l !== IGNORE_INDEX);
    expect(chatTok.decode(labelled, { skipSpecialTokens: false })).toBe('Hello!<|im_end|>\n<|endoftext|>');
    expect(() => renderPrompt('model', ex, tok)).toThrow(TemplateError);
    expect(() => renderPrompt('model', ex, tok)).toThrow(/has no chat_template/);
  });
});

describe('encodeExample', () => {
  test('prompt labelled -100, then response and EOS labelled; no shift', () => {
    const ex = { instruction: 'Reverse: cat', response: 'tac' };
    const enc = encodeExample(tok, 'plain', ex);
    const promptIds = tok.encode('Reverse: cat\n');
    expect(enc.promptLength).toBe(promptIds.length);
    expect(enc.input_ids).toEqual([...promptIds, ...tok.encode('tac'), tok.eosTokenId]);
    expect(enc.labels).toEqual([...promptIds.map(() => IGNORE_INDEX), ...tok.encode('tac'), tok.eosTokenId]);
    expect(encodePrompt(tok, 'plain', ex)).toEqual(promptIds);
    expect(encodeExample(tok, 'plain', ex, { trainOnInputs: true }).labels).toEqual(enc.input_ids);
  });

  test('fitToLength: drop, truncate, and a prompt that fills the window', () => {
    const enc = encodeExample(tok, 'plain', { instruction: 'Reverse: cat', response: 'tac' });
    const n = enc.input_ids.length;
    expect(fitToLength(enc, n, 'drop')).toEqual({ ok: enc, truncated: false });
    expect(fitToLength(enc, n - 1, 'drop')).toEqual({ drop: 'too_long' });
    const cut = fitToLength(enc, n - 2, 'truncate');
    expect(cut).toMatchObject({ truncated: true });
    if ('ok' in cut) {
      expect(cut.ok.input_ids).toEqual(enc.input_ids.slice(0, n - 2));
      expect(cut.ok.labels).toEqual(enc.labels.slice(0, n - 2));
    }
    expect(fitToLength(enc, enc.promptLength, 'truncate')).toEqual({ drop: 'prompt_too_long' });
  });
});

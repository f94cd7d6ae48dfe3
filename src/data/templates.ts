import { dirname, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import type { TextTokenizer } from '../model/tokenizer.js';
import { LoraStudyError } from '../util/errors.js';
import { type Example, promptMessages } from './example.js';
import { renderWithBudget, RenderBudgetError } from './template-budget.js';

/**
 * Prompt templates:
 * - `alpaca`: the Stanford Alpaca prompts (with and without input);
 * - `chatml`: `<|im_start|>role\n…<|im_end|>\n` turns, ending with the assistant header;
 * - `model`: the tokenizer's own `chat_template` (Jinja), as `apply_chat_template` renders it;
 * - `plain`: the instruction (and input) on its own lines: the shortest, for tiny models.
 */
export const TEMPLATE_NAMES = ['alpaca', 'chatml', 'model', 'plain'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export class TemplateError extends LoraStudyError {
  constructor(readonly template: string, message: string, hint?: string) {
    super(`template "${template}": ${message}`, { hint });
  }
}

// Verbatim from tatsu-lab/stanford_alpaca train.py (PROMPT_DICT). Stanford appends the output
// directly after "### Response:" (SentencePiece supplies the space); byte-level tokenizers do
// not, so, like alpaca-lora, we end the prompt with a newline.
const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
const ALPACA_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

/** A rendered example: the prompt text, and the text whose tokens carry the loss (before EOS). */
export interface RenderedExample {
  prompt: string;
  completion: string;
  /**
   * Whether the tokenizer should add its own special tokens (e.g. Llama's BOS) to the prompt:
   * yes for our templates, no for chat templates, which spell out their own special tokens
   * (as `apply_chat_template` tokenizes without them).
   */
  addSpecialTokens: boolean;
}

export function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

export function assertTemplateName(name: string): TemplateName {
  if (!isTemplateName(name)) {
    throw new TemplateError(name, 'unknown template', `choose one of: ${TEMPLATE_NAMES.join(', ')}`);
  }
  return name;
}

function fill(text: string, vars: Record<string, string>): string {
  // Replace in one pass so that braces inside the values are never substituted again.
  return text.replace(/\{(instruction|input)\}/g, (_, k: string) => vars[k]);
}

function renderAlpaca(ex: Example): string {
  if (ex.history?.length) throw new TemplateError('alpaca', 'multi-turn conversations cannot be rendered', 'use --template chatml or model');
  const instruction = ex.system ? `${ex.system}\n\n${ex.instruction}` : ex.instruction;
  return ex.input ? fill(ALPACA_WITH_INPUT, { instruction, input: ex.input }) : fill(ALPACA_NO_INPUT, { instruction, input: '' });
}

function renderChatml(ex: Example): string {
  const turns = promptMessages(ex).map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`);
  return `${turns.join('')}<|im_start|>assistant\n`;
}

function renderPlain(ex: Example): string {
  if (ex.history?.length) throw new TemplateError('plain', 'multi-turn conversations cannot be rendered', 'use --template chatml or model');
  return [ex.system, ex.instruction, ex.input].filter((s) => s).join('\n') + '\n';
}

const compiled = new Map<string, Template>();

function chatTemplate(tokenizer: TextTokenizer): Template {
  const source = tokenizer.chatTemplate;
  if (!source) {
    throw new TemplateError('model', `the tokenizer ${tokenizer.source} has no chat_template`, 'use --template alpaca, chatml or plain, or a model whose tokenizer_config.json has a chat_template');
  }
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (err) {
      throw new TemplateError('model', `cannot parse the chat_template in ${chatTemplateOrigin(tokenizer)}: ${(err as Error).message}`);
    }
    compiled.set(source, t);
  }
  return t;
}

/** The file a tokenizer's chat_template comes from: tokenizer_config.json beside tokenizer.json. */
function chatTemplateOrigin(tokenizer: TextTokenizer): string {
  return join(dirname(tokenizer.source), 'tokenizer_config.json');
}

function renderChat(tokenizer: TextTokenizer, ex: Example, withResponse: boolean): string {
  const messages = promptMessages(ex);
  if (withResponse) messages.push({ role: 'assistant', content: ex.response });
  const template = chatTemplate(tokenizer);
  try {
    // @huggingface/jinja defines raise_exception itself, as transformers does.
    return renderWithBudget(template, { messages, add_generation_prompt: !withResponse, bos_token: tokenizer.bosToken ?? '', eos_token: tokenizer.eosToken ?? '' });
  } catch (err) {
    if (err instanceof RenderBudgetError) {
      throw new TemplateError('model', `the chat_template in ${chatTemplateOrigin(tokenizer)} went over its render budget: ${err.message}`, 'the template loops too long or builds too much text; fix chat_template in that file, or use --template chatml, alpaca or plain');
    }
    throw new TemplateError('model', `the chat_template in ${chatTemplateOrigin(tokenizer)} failed: ${(err as Error).message}`);
  }
}

/** Renders the prompt text of an example: what the model reads before it answers. */
export function renderPrompt(template: TemplateName, example: Example, tokenizer: TextTokenizer): string {
  switch (template) {
    case 'alpaca':
      return renderAlpaca(example);
    case 'chatml':
      return renderChatml(example);
    case 'plain':
      return renderPlain(example);
    case 'model':
      return renderChat(tokenizer, example, false);
  }
}

/** Renders an example into its prompt and the completion that the loss is computed on. */
export function renderExample(template: TemplateName, example: Example, tokenizer: TextTokenizer): RenderedExample {
  const prompt = renderPrompt(template, example, tokenizer);
  if (template !== 'model') return { prompt, completion: example.response, addSpecialTokens: true };
  // The chat template decides what follows the answer (an end-of-turn marker, say); that text is
  // the completion when the full conversation extends the generation prompt, as it should.
  const full = renderChat(tokenizer, example, true);
  const completion = full.startsWith(prompt) ? full.slice(prompt.length) : example.response;
  return { prompt, completion, addSpecialTokens: false };
}

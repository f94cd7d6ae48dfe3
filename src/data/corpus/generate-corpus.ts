/**
 * The seeded pretraining corpus of the bundled base model: instruction/answer documents in the
 * project's prompt templates (plain, alpaca, chatml) and plain prose. The same seed and size
 * always give the same documents, on any machine.
 */
import type { TextTokenizer } from '../../model/tokenizer.js';
import { Rng } from '../prng.js';
import { renderPrompt, type TemplateName } from '../templates.js';
import { INSTRUCTION_GENERATORS, type CorpusDraw } from './instruction-tasks.js';
import { TEXT_GENERATORS } from './plain-text.js';

export interface CorpusDocument {
  /** The document's text, without the end-of-text token (the packer adds it). */
  text: string;
  /** Which generator made it (`text:story`, `instruction:spelling`, …). */
  source: string;
  /** Template of an instruction document; absent for prose. */
  template?: TemplateName | 'qa';
  /** The request and its context, for checking that no built-in task leaked in. */
  instruction?: string;
  input?: string;
}

export interface CorpusOptions {
  seed: number;
  documents: number;
  /** Share of instruction documents (the rest is prose); default 0.7. */
  instructionShare?: number;
}

/** Template mix of instruction documents: plain dominates because the tiny-model configs use it. */
const TEMPLATE_WEIGHTS: ReadonlyArray<[TemplateName | 'qa', number]> = [
  ['plain', 0.5],
  ['alpaca', 0.25],
  ['chatml', 0.15],
  ['qa', 0.1],
];

const SYSTEM_PROMPTS = ['You are a helpful assistant.', 'Answer briefly.'];

// renderPrompt needs a tokenizer only for the `model` template, which the corpus never uses.
const NO_TOKENIZER = null as unknown as TextTokenizer;

function weighted<T>(rng: Rng, items: ReadonlyArray<{ weight: number } & T>): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let x = rng.next() * total;
  for (const item of items) {
    x -= item.weight;
    if (x < 0) return item;
  }
  return items[items.length - 1];
}

function renderInstruction(rng: Rng, draw: CorpusDraw, template: TemplateName | 'qa'): string {
  if (template === 'qa') {
    const question = draw.input ? `${draw.instruction} ${draw.input}` : draw.instruction;
    return `Question: ${question}\nAnswer: ${draw.response}`;
  }
  const system = template === 'chatml' && rng.next() < 0.3 ? rng.pick(SYSTEM_PROMPTS) : undefined;
  const prompt = renderPrompt(template, { instruction: draw.instruction, input: draw.input ?? '', response: draw.response, system }, NO_TOKENIZER);
  // ChatML answers end with <|im_end|> under a model chat template and with EOS alone under the
  // project's `chatml` template; the corpus shows both.
  const tail = template === 'chatml' && rng.next() < 0.5 ? '<|im_end|>\n' : '';
  return `${prompt}${draw.response}${tail}`;
}

/** Draws one document. */
export function drawDocument(rng: Rng, instructionShare = 0.7): CorpusDocument {
  if (rng.next() >= instructionShare) {
    const g = weighted(rng, TEXT_GENERATORS);
    return { text: g.generate(rng), source: `text:${g.name}` };
  }
  const g = weighted(rng, INSTRUCTION_GENERATORS);
  const draw = g.generate(rng);
  const template = weighted(rng, TEMPLATE_WEIGHTS.map(([t, weight]) => ({ t, weight }))).t;
  return { text: renderInstruction(rng, draw, template), source: `instruction:${g.name}`, template, instruction: draw.instruction, input: draw.input };
}

/** The first `documents` documents of the corpus for `seed`. */
export function generateCorpus(opts: CorpusOptions): CorpusDocument[] {
  const rng = new Rng(opts.seed);
  return Array.from({ length: opts.documents }, () => drawDocument(rng, opts.instructionShare));
}

import type { PreparedRow } from '../data/write-prepared.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import { generate } from './generate.js';
import { scoreGenerations, type CorpusGenerationScores } from './metrics-aggregate.js';

export interface EvaluateGenerationOptions {
  /** Prompts generated together (left-padded, one KV cache per batch). */
  batchSize: number;
  maxNewTokens: number;
  /** 0 = greedy (default). */
  temperature?: number;
  /** Nucleus mass; 1 = off (default). */
  topP?: number;
  padTokenId: number;
  seed?: number;
}

/** One generation beside its reference, decoded and trimmed as it was scored. */
export interface GenerationSample {
  prompt: string;
  prediction: string;
  reference: string;
}

export interface GenerationEvaluation {
  /** Exact match and ROUGE-L over all rows; null when there were no rows. */
  scores: CorpusGenerationScores | null;
  samples: GenerationSample[];
  /** New tokens produced (EOS excluded). */
  tokens: number;
  /** Generated tokens per second of generation wall time, all batches together. */
  tokensPerS: number;
}

/**
 * Generates an answer for each row's prompt (its first `prompt_length` tokens) and scores it
 * against the row's reference response. Shared by run evaluation and `evaluate-model`, so that
 * exact match and ROUGE-L mean the same thing wherever they are reported.
 */
export function evaluateGeneration(model: CausalLM, tokenizer: TextTokenizer, rows: PreparedRow[], opts: EvaluateGenerationOptions): GenerationEvaluation {
  const samples: GenerationSample[] = [];
  let tokens = 0;
  let seconds = 0;
  for (let i = 0; i < rows.length; i += opts.batchSize) {
    const batch = rows.slice(i, i + opts.batchSize);
    const t0 = performance.now();
    const res = generate(model, batch.map((r) => r.input_ids.slice(0, r.prompt_length)), {
      maxNewTokens: opts.maxNewTokens,
      temperature: opts.temperature,
      topP: opts.topP,
      eosTokenId: tokenizer.eosTokenId,
      padTokenId: opts.padTokenId,
      // A different stream per batch, still reproducible from one seed.
      seed: (opts.seed ?? 0) + i,
    });
    seconds += (performance.now() - t0) / 1000;
    res.tokens.forEach((ids, j) => {
      tokens += ids.length;
      // A generation that stops at once (EOS first) is the empty answer; the tokenizer refuses to decode [].
      const prediction = ids.length > 0 ? tokenizer.decode(ids, { skipSpecialTokens: true }).trim() : '';
      samples.push({ prompt: batch[j].prompt, prediction, reference: batch[j].response.trim() });
    });
  }
  return { scores: scoreGenerations(samples), samples, tokens, tokensPerS: seconds > 0 ? tokens / seconds : 0 };
}

import type { PreparedRow } from '../data/write-prepared.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import { type Logger, silentLogger } from '../util/logger.js';
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
  /** Where the one notice about prompts cut to fit the model's positions goes. */
  logger?: Logger;
  /** Checked between generation steps and batches (Ctrl-C): throws EvaluationInterruptedError when set. */
  shouldStop?: () => boolean;
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
  /** Prompts cut from the left so that prompt + new tokens fit the model's positions. */
  truncatedPrompts: number;
}

/**
 * Generates an answer for each row's prompt (its first `prompt_length` tokens) and scores it
 * against the row's reference response. Shared by run evaluation and `evaluate-model`, so that
 * exact match and ROUGE-L mean the same thing wherever they are reported.
 */
export async function evaluateGeneration(model: CausalLM, tokenizer: TextTokenizer, rows: PreparedRow[], opts: EvaluateGenerationOptions): Promise<GenerationEvaluation> {
  const samples: GenerationSample[] = [];
  let tokens = 0;
  let seconds = 0;
  let truncatedPrompts = 0;
  let maxNewTokens = opts.maxNewTokens;
  for (let i = 0; i < rows.length; i += opts.batchSize) {
    const batch = rows.slice(i, i + opts.batchSize);
    const t0 = performance.now();
    const res = await generate(model, batch.map((r) => r.input_ids.slice(0, r.prompt_length)), {
      maxNewTokens: opts.maxNewTokens,
      temperature: opts.temperature,
      topP: opts.topP,
      eosTokenId: tokenizer.eosTokenId,
      padTokenId: opts.padTokenId,
      // A different stream per batch, still reproducible from one seed.
      seed: (opts.seed ?? 0) + i,
      shouldStop: opts.shouldStop,
    });
    seconds += (performance.now() - t0) / 1000;
    truncatedPrompts += res.truncatedPrompts;
    maxNewTokens = res.maxNewTokens;
    res.tokens.forEach((ids, j) => {
      tokens += ids.length;
      // A generation that stops at once (EOS first) is the empty answer; the tokenizer refuses to decode [].
      const prediction = ids.length > 0 ? tokenizer.decode(ids, { skipSpecialTokens: true }).trim() : '';
      samples.push({ prompt: batch[j].prompt, prediction, reference: batch[j].response.trim() });
    });
  }
  if (truncatedPrompts > 0 || maxNewTokens < opts.maxNewTokens) {
    const positions = model.config.maxPositionEmbeddings;
    (opts.logger ?? silentLogger).warn(
      { truncated_prompts: truncatedPrompts, rows: rows.length, max_positions: positions, max_new_tokens: maxNewTokens },
      `generation: prompt + new tokens must fit the model's ${positions} positions: ${truncatedPrompts} of ${rows.length} prompts were cut from the left${maxNewTokens < opts.maxNewTokens ? `, and new tokens were capped at ${maxNewTokens}` : ''}`,
    );
  }
  return { scores: scoreGenerations(samples), samples, tokens, tokensPerS: seconds > 0 ? tokens / seconds : 0, truncatedPrompts };
}

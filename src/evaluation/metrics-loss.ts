import { LoraStudyError } from '../util/errors.js';

/**
 * Perplexity of a mean per-token cross-entropy in nats: exp(loss). Above ~709 nats this is
 * `Infinity` in float64, which is reported as is rather than hidden.
 */
export function perplexity(meanLoss: number): number {
  if (!(meanLoss >= 0)) throw new RangeError(`perplexity: mean loss must be a number ≥ 0 nats, got ${meanLoss}`);
  return Math.exp(meanLoss);
}

/** The raw sums of one batch, over its positions whose (shifted) label is not -100. */
export interface BatchLossStats {
  /** Sum of the per-token negative log-likelihood, in nats (not a mean). */
  sumLoss: number;
  /** Number of positions that count (label ≠ -100 after the next-token shift). */
  tokens: number;
  /** Of those, how many had the label as their top-1 (argmax) prediction. */
  correct: number;
}

export interface LossSummary {
  /** Token-weighted mean cross-entropy over the whole split, in nats. */
  meanLoss: number;
  perplexity: number;
  /** Next-token top-1 accuracy over the same positions, in [0, 1]. */
  accuracy: number;
  tokens: number;
  batches: number;
}

/** An evaluation split that contributed no labelled token: there is no loss to report. */
export class EmptyEvaluationError extends LoraStudyError {
  readonly batches: number;
  constructor(batches: number) {
    super(`no labelled tokens (labels != -100) in ${batches} evaluation batch(es); mean loss is undefined`, {
      hint: 'check that the eval split has responses and that the prompt template does not mask every token',
    });
    this.batches = batches;
  }
}

/**
 * Accumulates summed NLL, token counts and correct top-1 counts over the batches of a split.
 *
 * The mean loss is Σ NLL / Σ tokens over every labelled position of the whole split, i.e. each
 * token weighs the same, which is how Hugging Face defines the loss of a split (cross-entropy
 * with `ignore_index=-100` and reduction over all tokens). A mean of per-batch means would
 * instead give tokens in short batches more weight, and would change with the batch size.
 *
 * The loss sum uses Neumaier (compensated) summation so that a split of millions of tokens loses
 * no precision to the order in which batches arrive.
 */
export class LossAccumulator {
  private sum = 0;
  private compensation = 0;
  private tokenCount = 0;
  private correctCount = 0;
  private batchCount = 0;

  add(stats: BatchLossStats): this {
    const { sumLoss, tokens, correct } = stats;
    if (!Number.isFinite(sumLoss) || sumLoss < 0) {
      throw new RangeError(`LossAccumulator.add: sumLoss must be finite and ≥ 0 nats, got ${sumLoss}`);
    }
    if (!Number.isInteger(tokens) || tokens < 0) {
      throw new RangeError(`LossAccumulator.add: tokens must be an integer ≥ 0, got ${tokens}`);
    }
    if (!Number.isInteger(correct) || correct < 0 || correct > tokens) {
      throw new RangeError(`LossAccumulator.add: correct must be an integer in [0, tokens=${tokens}], got ${correct}`);
    }
    if (tokens === 0 && sumLoss !== 0) {
      throw new RangeError(`LossAccumulator.add: sumLoss=${sumLoss} with tokens=0`);
    }
    const t = this.sum + sumLoss;
    this.compensation +=
      Math.abs(this.sum) >= Math.abs(sumLoss) ? this.sum - t + sumLoss : sumLoss - t + this.sum;
    this.sum = t;
    this.tokenCount += tokens;
    this.correctCount += correct;
    this.batchCount += 1;
    return this;
  }

  /** Folds in another accumulator (e.g. one per worker); the result is order-independent. */
  merge(other: LossAccumulator): this {
    const s = other.totals();
    this.add({ sumLoss: s.sumLoss, tokens: s.tokens, correct: s.correct });
    this.batchCount += s.batches - 1;
    return this;
  }

  /** The raw sums so far, for recording or for an independent check. */
  totals(): BatchLossStats & { batches: number } {
    return {
      sumLoss: this.sum + this.compensation,
      tokens: this.tokenCount,
      correct: this.correctCount,
      batches: this.batchCount,
    };
  }

  /** Throws `EmptyEvaluationError` when no labelled token was seen. */
  summary(): LossSummary {
    if (this.tokenCount === 0) throw new EmptyEvaluationError(this.batchCount);
    const meanLoss = (this.sum + this.compensation) / this.tokenCount;
    return {
      meanLoss,
      perplexity: perplexity(meanLoss),
      accuracy: this.correctCount / this.tokenCount,
      tokens: this.tokenCount,
      batches: this.batchCount,
    };
  }
}

import { LoraStudyError } from '../util/errors.js';

export class NonFiniteLossError extends LoraStudyError {
  constructor(readonly step: number, readonly value: number) {
    super(`loss became ${value} at step ${step}`, {
      hint: 'lower the learning rate, enable max_grad_norm clipping, or check the data at this step',
    });
  }
}

export class EmptyDatasetError extends LoraStudyError {
  constructor(what: string) {
    super(`${what} has no examples with tokens to learn from`, {
      hint: 'check that the prepared dataset has rows whose labels are not all -100 within max_seq_len',
    });
  }
}

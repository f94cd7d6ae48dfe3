import { BaseExperiment } from './base-experiment.js';

/** One run outside any study (`run-single`). */
export class SingleRun extends BaseExperiment {
  static override readonly type = 'single';
  get experimentType(): string {
    return SingleRun.type;
  }
}

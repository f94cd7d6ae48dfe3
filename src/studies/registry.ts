import { methodStudy } from './method.js';
import { moduleStudy } from './module.js';
import { quantizationStudy } from './quantization.js';
import { rankStudy } from './rank.js';
import { singleStudy } from './single.js';
import type { StudyDefinition } from './types.js';

/**
 * Every study, in report order. `type:` in a suite YAML must name one of them (the suite schema's
 * enum is built from this list). A new study is one file in this folder and one line here.
 */
export const STUDIES = [rankStudy, moduleStudy, quantizationStudy, methodStudy, singleStudy] as const satisfies readonly StudyDefinition[];

export const STUDY_TYPES = STUDIES.map((s) => s.type) as [string, ...string[]];

/** The study of a `type:` (or tracker experiment_type); undefined for one no longer known. */
export function studyOf(type: string): StudyDefinition | undefined {
  return STUDIES.find((s) => s.type === type);
}

/** Position in report order; unknown types last. */
export function studyIndex(type: string): number {
  const i = STUDIES.findIndex((s) => s.type === type);
  return i === -1 ? STUDIES.length : i;
}

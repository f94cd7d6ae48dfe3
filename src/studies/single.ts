import type { StudyDefinition } from './types.js';

/** Runs outside any study (`run-single`, the smoke suite): compared as given, nothing varied. */
export const singleStudy: StudyDefinition = {
  type: 'single',
  title: 'Single runs',
  question: 'Runs outside a study, compared as given.',
  varies: [],
  costMetric: 'trainable_params',
  label: (c, name) => name ?? c.name,
};

import type { RunConfig } from '../config/run-config.js';
import type { QualityMetric, Variant } from '../reporting/aggregate.js';
import type { Chart } from '../reporting/charts/chart.js';

/** One problem with a suite as a whole (all its planned runs), located by YAML path. */
export interface SuiteIssue {
  path: string;
  message: string;
}

/** What a suite planned, as a study's suite-level check sees it. */
export interface PlannedVariant {
  name: string;
  config: RunConfig;
}

/**
 * A study, as data: what it varies, how a setting is named and ordered, what it fills in, what it
 * checks, and which charts and findings the report shows for it. `type:` in a suite YAML names
 * one; src/studies/registry.ts lists them. A new study is one file here and one line there.
 */
export interface StudyDefinition {
  /** `type:` in a suite YAML and `experiment_type` in the tracker. */
  readonly type: string;
  /** Report section heading. */
  readonly title: string;
  /** The question it answers, one line (README, `--help`). */
  readonly question: string;
  /**
   * Dotted run-config paths a variant of this study changes (`lora.r`). The tracker records them
   * and their values in `varied_path` / `varied_value_json`; empty for `single`.
   */
  readonly varies: readonly string[];
  /** The cost the study trades quality against in its "cheapest setting" finding. */
  readonly costMetric: 'trainable_params' | 'base_weight_bytes' | 'peak_tfjs_bytes';
  /** Short label of a setting (`r=8`): seeds share it. `variantName` is the suite's name for it, if any. */
  label(config: RunConfig, variantName?: string): string;
  /** Order of settings in tables and charts (negative: `a` first); default by cost, then label. */
  compare?(a: Variant, b: Variant): number;
  /**
   * Fills derived fields of a variant's config before it is validated (the rank study sets
   * lora_alpha = 2r when the suite gives no lora_alpha). `raw` is the unvalidated config.
   */
  derive?(raw: Record<string, unknown>): void;
  /** Checks one run's resolved config: throws for what cannot run, returns warnings for what confounds the study. */
  validate?(config: RunConfig): string[];
  /** Checks the suite as a whole (e.g. the method study compares methods at one rank). */
  validateSuite?(variants: readonly PlannedVariant[]): SuiteIssue[];
  /** The study's own charts (its variants only). */
  charts?(variants: readonly Variant[], quality: QualityMetric | null): (Chart | null)[];
  /** Sentences beyond the findings every study gets (ranking and timing within noise). */
  findings?(variants: readonly Variant[], quality: QualityMetric | null): string[];
}

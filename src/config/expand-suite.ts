import { ConfigError, configErrorFrom, formatPath } from './config-errors.js';
import { readYamlFile } from './load-yaml.js';
import { runConfigSchema, type RunConfig } from './run-config.js';
import { studyOf } from '../studies/registry.js';
import type { StudyDefinition } from '../studies/types.js';
import { configPathProblem, setPath } from './set-path.js';
import { SWEEP_ALIASES, suiteConfigSchema, type SuiteConfig } from './suite-config.js';

/** One planned run of a suite. */
export interface PlannedRun {
  name: string;
  /** The variant's name in the suite (run names use it). */
  variant: string;
  /** The study's label of the setting (`r=8`), recorded on the run; seeds share it. */
  label: string;
  seed: number;
  config: RunConfig;
}

export interface ExpandedSuite {
  file: string;
  suite: SuiteConfig;
  study: StudyDefinition;
  runs: PlannedRun[];
}

interface Override {
  /** Dotted path in the run config. */
  target: string;
  value: unknown;
  /** Where the value came from, for error messages: `sweep.rank[2]`. */
  origin: string;
}

const resolveField = (key: string) => (Object.hasOwn(SWEEP_ALIASES, key) ? SWEEP_ALIASES[key] : key);

function label(value: unknown): string {
  if (Array.isArray(value)) return value.join('+');
  return String(value);
}

/** The variants of a suite as lists of overrides: the grid's cartesian product or the explicit list. */
function variantOverrides(s: SuiteConfig, study: StudyDefinition): Array<{ name: string; explicit: boolean; overrides: Override[] }> {
  if (s.variants) {
    return s.variants.map((v, i) => {
      const { name, ...fields } = v as { name?: unknown } & Record<string, unknown>;
      const overrides = Object.entries(fields).map(([k, value]) => ({ target: resolveField(k), value, origin: `variants[${i}].${k}` }));
      const auto = overrides.map((o) => `${o.target.split('.').pop()}=${label(o.value)}`).join(',');
      return { name: typeof name === 'string' ? name : auto || `v${i}`, explicit: typeof name === 'string', overrides };
    });
  }
  let combos: Array<{ name: string[]; overrides: Override[] }> = [{ name: [], overrides: [] }];
  for (const [key, values] of Object.entries(s.sweep ?? {})) {
    const next: typeof combos = [];
    for (const c of combos) {
      values.forEach((value, i) => {
        // A value of the path the study varies is named as the study labels it (`r=8` → r8).
        const target = resolveField(key);
        const partial: Record<string, unknown> = {};
        setPath(partial, target.split('.'), value);
        const short = study.varies.includes(target) ? study.label(partial as RunConfig).replace(/=/g, '') : label(value);
        next.push({ name: [...c.name, short], overrides: [...c.overrides, { target: resolveField(key), value, origin: `sweep.${key}[${i}]` }] });
      });
    }
    combos = next;
  }
  return combos.map((c) => ({ name: c.name.join('-') || 'base', explicit: false, overrides: c.overrides }));
}

/** Validates a suite and expands it into fully resolved run configs, one per variant × seed. */
export function expandSuite(raw: unknown, file: string): ExpandedSuite {
  const parsed = suiteConfigSchema.safeParse(raw);
  if (!parsed.success) throw configErrorFrom(file, parsed.error);
  const suite = parsed.data;
  const keys = [
    ...Object.keys(suite.sweep ?? {}).map((k) => ({ key: k, origin: `sweep.${k}` })),
    ...(suite.variants ?? []).flatMap((v, i) => Object.keys(v).map((k) => ({ key: k, origin: `variants[${i}].${k}` }))),
  ];
  const badPaths = keys.flatMap(({ key, origin }) => {
    const problem = configPathProblem(resolveField(key).split('.'));
    return problem ? [{ path: origin, message: `config path ${problem}` }] : [];
  });
  if (badPaths.length) throw new ConfigError(file, badPaths);
  const study = studyOf(suite.type)!; // the schema's enum is the registry
  const runs: PlannedRun[] = [];
  const names = new Set<string>();
  for (const v of variantOverrides(suite, study)) {
    for (const seed of suite.seeds) {
      const cfg = structuredClone(suite.base) as Record<string, unknown>;
      for (const o of v.overrides) setPath(cfg, o.target.split('.'), o.value);
      study.derive?.(cfg);
      const safeVariant = v.name.replace(/[^A-Za-z0-9_.+=-]+/g, '_');
      const name = `${suite.name}-${safeVariant}-s${seed}`;
      cfg.seed = seed;
      cfg.name = name;
      const res = runConfigSchema.safeParse(cfg);
      if (!res.success) {
        throw new ConfigError(
          file,
          res.error.issues.map((i) => {
            const path = formatPath(i.path);
            const from = v.overrides.find((o) => path === o.target || path.startsWith(`${o.target}.`) || path.startsWith(`${o.target}[`));
            const keys = (i as { keys?: string[] }).keys;
            const message = i.code === 'unrecognized_keys' && keys ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : i.message;
            return { path: from ? `${from.origin} (${from.target})` : `base.${path}`, message };
          }),
        );
      }
      if (names.has(name)) throw new ConfigError(file, [{ path: 'variants', message: `two variants are both named "${v.name}"` }]);
      names.add(name);
      runs.push({ name, variant: v.name, label: study.label(res.data, v.explicit ? v.name : undefined), seed, config: res.data });
    }
  }
  const issues = study.validateSuite?.(runs.map((r) => ({ name: r.variant, config: r.config }))) ?? [];
  if (issues.length) throw new ConfigError(file, issues);
  return { file, suite, study, runs: seedMajor(runs, suite.seeds) };
}

/**
 * Runs in execution order: every setting for the first seed, then every setting for the next.
 * Interleaving the settings in time spreads a change of machine load over all of them, so a
 * timing difference between settings is less likely to be the load of the hour they ran in.
 */
function seedMajor(runs: PlannedRun[], seeds: readonly number[]): PlannedRun[] {
  const order = new Map(seeds.map((s, i) => [s, i]));
  return runs
    .map((run, index) => ({ run, index }))
    .sort((a, b) => (order.get(a.run.seed)! - order.get(b.run.seed)!) || a.index - b.index)
    .map((x) => x.run);
}

export function loadSuite(file: string): ExpandedSuite {
  return expandSuite(readYamlFile(file), file);
}

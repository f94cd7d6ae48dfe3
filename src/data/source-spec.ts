import { LoraStudyError } from '../util/errors.js';
import { PATH_SEGMENT_RULE, pathSegmentProblem } from '../util/path-segment.js';
import { BUILTIN_DATASET_NAMES, UnknownBuiltinTaskError } from './builtin/registry.js';

/** Where rows come from, parsed from `--dataset`. */
export type SourceSpec =
  | { kind: 'builtin'; dataset: string }
  | { kind: 'hub'; repo: string; split: string; revision: string }
  | { kind: 'file'; path: string };

/** Short names for well-known Hub datasets. */
export const DATASET_ALIASES: Readonly<Record<string, string>> = { alpaca: 'hf:tatsu-lab/alpaca' };

export class SourceSpecError extends LoraStudyError {
  constructor(readonly spec: string, reason: string) {
    super(`--dataset ${spec}: ${reason}`, { hint: 'use builtin:<task>, hf:<owner>/<name>[@<revision>][:<split>], alpaca, or a file path' });
  }
}

/**
 * `builtin:<task>` | `hf:<owner>/<name>[@<revision>][:<split>]` | an alias (`alpaca`) | a path to a
 * .json/.jsonl/.parquet file or a folder of them.
 */
export function parseSourceSpec(spec: string): SourceSpec {
  const s = DATASET_ALIASES[spec] ?? spec;
  if (s.startsWith('builtin:')) {
    const dataset = s.slice('builtin:'.length);
    if (!BUILTIN_DATASET_NAMES.includes(dataset)) throw new UnknownBuiltinTaskError(dataset);
    return { kind: 'builtin', dataset };
  }
  if (s.startsWith('hf:')) {
    const [repoRev, split = 'train', ...rest] = s.slice(3).split(':');
    const [repo, revision = 'main', ...rest2] = repoRev.split('@');
    if (rest.length || rest2.length || !/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || !split || !revision) {
      throw new SourceSpecError(spec, 'not a valid Hub dataset name');
    }
    // The repo and revision become cache folders (<cache>/datasets/<owner>/<name>/<revision>).
    for (const [what, value] of [['repo', repo], ['revision', revision]] as const) {
      for (const part of value.split('/')) {
        const problem = pathSegmentProblem(part);
        if (problem) throw new SourceSpecError(spec, `the ${what} part ${JSON.stringify(part)} ${problem}; each must be ${PATH_SEGMENT_RULE}`);
      }
    }
    return { kind: 'hub', repo, split, revision };
  }
  return { kind: 'file', path: s };
}

/** The canonical text of a spec, for meta.json. */
export function formatSourceSpec(src: SourceSpec): string {
  if (src.kind === 'builtin') return `builtin:${src.dataset}`;
  if (src.kind === 'hub') return `hf:${src.repo}${src.revision === 'main' ? '' : `@${src.revision}`}:${src.split}`;
  return src.path;
}

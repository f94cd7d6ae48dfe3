import { existsSync } from 'node:fs';

/** A model named by its Hugging Face Hub id, e.g. `microsoft/phi-2` or `microsoft/phi-2@<revision>`. */
export interface HubModelRef {
  repo: string;
  /** Branch, tag or commit sha; `main` when the id names none. */
  revision: string;
}

// The Hub's repo-name rules (huggingface_hub's validate_repo_id): letters, digits, `-`, `_`, `.`;
// no `--` or `..`, no leading/trailing `-`/`.`.
const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/**
 * The Hub id in `spec`, or null when `spec` is a local folder. As in transformers, an existing
 * local path wins; `hf:` may prefix the id (as in dataset sources); `@<revision>` pins a branch,
 * tag or commit.
 */
export function parseHubModelId(spec: string): HubModelRef | null {
  if (existsSync(spec)) return null;
  const s = spec.startsWith('hf:') ? spec.slice(3) : spec;
  if (/^[.~/\\]/.test(s)) return null;
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? 'main' : s.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => PART.test(p) && !p.includes('--') && !p.includes('..'))) return null;
  if (!revision || /\s|\.\.|^\//.test(revision)) return null;
  return { repo, revision };
}

/** `repo@revision` (the form the run records once the revision is resolved to a commit). */
export function formatHubModelId(ref: HubModelRef): string {
  return `${ref.repo}@${ref.revision}`;
}

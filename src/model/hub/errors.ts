import { LoraStudyError } from '../../util/errors.js';

export class HubModelError extends LoraStudyError {}

/** HF_HUB_OFFLINE=1 (or no network) and the cache lacks the model at that revision. */
export class HubModelNotCachedError extends HubModelError {
  constructor(readonly repo: string, readonly revision: string, readonly cacheDir: string, why: string, offline: boolean) {
    super(`model ${repo} at revision "${revision}" is not in the Hugging Face cache ${cacheDir} (${why})${offline ? ', and HF_HUB_OFFLINE=1 forbids downloading it' : ''}; there is no local folder ${repo} either`, {
      hint: `download it once with network access (unset HF_HUB_OFFLINE, or run \`huggingface-cli download ${repo} --revision ${revision}\`), point HF_HUB_CACHE/HF_HOME at the cache that holds it, or give a local model folder`,
    });
  }
}

export class HubModelNotFoundError extends HubModelError {
  constructor(readonly repo: string, readonly revision: string, endpoint: string, status: number, detail: string) {
    super(`model "${repo}" (revision "${revision}") was not found on ${endpoint} (HTTP ${status}: ${detail}), and there is no local folder ${repo}`, {
      hint: 'check the Hub id (<org>/<name>[@<revision>]) or the folder path; a private or gated model needs HF_TOKEN set to a token that can read it',
    });
  }
}

export class HubModelUnreachableError extends HubModelError {
  constructor(readonly repo: string, endpoint: string, cacheDir: string, cause: unknown) {
    const code = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as Error)?.message;
    super(`could not reach the Hugging Face Hub at ${endpoint} (${code}) to resolve model ${repo}, and the cache ${cacheDir} does not hold it`, {
      hint: 'connect to the network (or set HF_ENDPOINT to a reachable mirror) once to fill the cache, or give a local model folder',
      cause,
    });
  }
}

/** The repo has weights only as pickle `.bin` files: refused before anything is downloaded. */
export class HubPickleOnlyError extends HubModelError {
  constructor(readonly repo: string, readonly sha: string, binFiles: string[]) {
    super(`model ${repo} (commit ${sha}) has its weights only as pickle files (${binFiles.slice(0, 3).join(', ')}${binFiles.length > 3 ? ', …' : ''}); lora-study reads safetensors only and does not download or unpickle .bin files (unpickling runs arbitrary code)`, {
      hint: `use a revision that has model.safetensors (the Hub's safetensors-conversion pull requests: ${repo}@refs/pr/<n>), or convert it yourself: AutoModelForCausalLM.from_pretrained("${repo}").save_pretrained("<folder>", safe_serialization=True) and point model: at <folder>`,
    });
  }
}

/** An error as one line for a plan row or note: its message, then its hint after " — ". */
export function describeHubError(err: unknown): string {
  return `${err instanceof Error ? err.message : String(err)}${err instanceof HubModelError && err.hint ? ` — ${err.hint}` : ''}`;
}

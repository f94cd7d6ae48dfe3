import { silentLogger, type Logger } from '../../util/logger.js';
import { hubCacheDir } from './cache-layout.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** How lora-study reaches the Hub: each field defaults to huggingface_hub's environment variable. */
export interface HubAccessOptions {
  /** Defaults to HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Defaults to HF_ENDPOINT, then https://huggingface.co. */
  hubUrl?: string;
  /** Defaults to HF_TOKEN. */
  accessToken?: string;
  /** Defaults to HF_HUB_OFFLINE. */
  offline?: boolean;
  fetch?: typeof fetch;
  logger?: Logger;
}

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1/true/yes/on. */
export function hubOffline(): boolean {
  return ['1', 'true', 'yes', 'on'].includes((process.env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

export function hubSettings(o: HubAccessOptions) {
  const accessToken = o.accessToken ?? (process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined);
  return {
    cacheDir: o.cacheDir ?? hubCacheDir(),
    endpoint: (o.hubUrl ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_URL).replace(/\/+$/, ''),
    accessToken,
    /** The Authorization header the token gives (none without a token). */
    auth: (accessToken ? { Authorization: `Bearer ${accessToken}` } : {}) as Record<string, string>,
    offline: o.offline ?? hubOffline(),
    fetch: o.fetch ?? fetch,
    logger: o.logger ?? silentLogger,
  };
}

export type HubSettings = ReturnType<typeof hubSettings>;

/** `<endpoint>/<repo>/resolve/<sha>/<file>`, each path segment encoded. */
export function hubFileUrl(endpoint: string, repo: string, sha: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${sha}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** What to tell a user about an HTTP status the Hub answered for a model's file. */
export function hubStatusHint(status: number): string | undefined {
  return status === 401 || status === 403 ? 'set HF_TOKEN to a token that can read this model' : undefined;
}

/**
 * Loading one of lora-study-native's addons that live beside the matmul addon (ops.cjs, libm.cjs):
 * resolved as `lora-study-native/<file>`, or beside {@link NATIVE_ADDON_PATH_ENV}'s module when
 * that is set (tests point it at a missing path to simulate a failed build); cached per value of
 * that variable; a build from an older checkout (another `api`) refused with the rebuild hint.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { NATIVE_ADDON_PATH_ENV } from './native-addon.js';

export type SiblingAddonLoad<T> = { ok: true; addon: T } | { ok: false; reason: string };

export interface SiblingAddonSpec<T> {
  /** The module beside the matmul addon's: `ops.cjs`, `libm.cjs`. */
  file: string;
  /** Its name in messages: "the native <name> addon did not load". */
  name: string;
  /** A function the module must export. */
  entry: string;
  /** The calling convention this code needs. */
  api: number;
  /** What a build without an `api` field reports (its convention predates the field). */
  apiWhenAbsent: string;
  /** A loaded module of the right API that cannot be used (e.g. built without its kernels): the reason, else null. */
  unusable?: (addon: T) => string | null;
}

export interface SiblingAddonLoader<T> {
  load(): SiblingAddonLoad<T>;
  /** Forgets the cached load (tests that switch {@link NATIVE_ADDON_PATH_ENV}). */
  reset(): void;
}

export function siblingAddonLoader<T extends { api?: number }>(spec: SiblingAddonSpec<T>): SiblingAddonLoader<T> {
  let cached: SiblingAddonLoad<T> | null = null;
  let cachedFor: string | undefined;
  return {
    load() {
      const override = process.env[NATIVE_ADDON_PATH_ENV];
      if (cached && cachedFor === override) return cached;
      cachedFor = override;
      const require = createRequire(import.meta.url);
      try {
        const id = override ? path.join(path.dirname(require.resolve(override)), spec.file) : `lora-study-native/${spec.file}`;
        const addon = require(id) as T;
        if (typeof (addon as Record<string, unknown>)[spec.entry] !== 'function') throw new Error(`${id} does not export ${spec.entry}()`);
        // A build left from an older checkout (`git pull` without `npm install`) has another calling convention.
        if (addon.api !== spec.api) {
          throw new Error(`${id} is a stale build (API ${addon.api ?? spec.apiWhenAbsent}, this code needs ${spec.api}); run \`npm rebuild lora-study-native\``);
        }
        const why = spec.unusable?.(addon) ?? null;
        cached = why === null ? { ok: true, addon } : { ok: false, reason: why };
      } catch (err) {
        cached = { ok: false, reason: `the native ${spec.name} addon did not load (${(err as Error).message.split('\n')[0]})` };
      }
      return cached;
    },
    reset() {
      cached = null;
    },
  };
}

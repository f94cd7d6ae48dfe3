import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One environment variable the engine set for Dawn, and why (doctor shows these). */
export interface DawnEnvSetting {
  name: string;
  value: string;
  why: string;
}

/**
 * Sets what Dawn needs in a headless process, only where the user has not set it:
 * - `EGL_PLATFORM=surfaceless`: Dawn's OpenGL ES backend opens EGL, and Mesa's EGL otherwise tries
 *   an X11/Wayland display and finds no adapter on a server;
 * - `XDG_RUNTIME_DIR`: Mesa and the Vulkan loader write caches and sockets there and print
 *   warnings (or fail) when it is unset or missing; a private 0700 folder under the temp dir is used.
 * Returns everything it has set in this process (for `doctor`). Safe to call repeatedly.
 */
const applied: DawnEnvSetting[] = [];

export function prepareDawnEnv(env: NodeJS.ProcessEnv = process.env): DawnEnvSetting[] {
  const set = env === process.env ? applied : [];
  if (!env.EGL_PLATFORM) {
    env.EGL_PLATFORM = 'surfaceless';
    set.push({ name: 'EGL_PLATFORM', value: 'surfaceless', why: 'no display server: EGL must run surfaceless' });
  }
  if (!env.XDG_RUNTIME_DIR || !isDir(env.XDG_RUNTIME_DIR)) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    const dir = path.join(os.tmpdir(), `lora-study-runtime-${uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const why = env.XDG_RUNTIME_DIR ? `XDG_RUNTIME_DIR=${env.XDG_RUNTIME_DIR} does not exist` : 'XDG_RUNTIME_DIR was unset';
    env.XDG_RUNTIME_DIR = dir;
    set.push({ name: 'XDG_RUNTIME_DIR', value: dir, why });
  }
  return [...set];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

import { LoraStudyError } from '../util/errors.js';

/**
 * The mode an environment variable names: `auto` when unset or empty, else one of `modes`
 * ("auto" among them); any other value is an error with `hint`.
 */
export function resolveEnvMode<M extends string>(env: NodeJS.ProcessEnv, name: string, modes: readonly M[], hint: string): M {
  const raw = env[name] ?? '';
  if (raw === '') return 'auto' as M;
  if (!(modes as readonly string[]).includes(raw)) {
    const list = `${modes.slice(0, -1).join(', ')} or ${modes[modes.length - 1]}`;
    throw new LoraStudyError(`${name} must be ${list}; got "${raw}"`, { hint });
  }
  return raw as M;
}

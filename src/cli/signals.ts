/**
 * First Ctrl-C (SIGINT/SIGTERM) sets a flag that training checks between steps and evaluation
 * between batches and generation steps, so the run can be recorded as interrupted; a second one
 * exits at once.
 */
export function interruptFlag(what = 'stopping after the current step'): { isSet: () => boolean; dispose: () => void } {
  let set = false;
  const handler = (sig: NodeJS.Signals) => {
    if (set) process.exit(130);
    set = true;
    process.stderr.write(`\n${sig}: ${what} (press again to quit now)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    isSet: () => set,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

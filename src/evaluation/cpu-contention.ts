/**
 * How busy OTHER processes keep the CPUs, measured now: the machine's busy time (Linux
 * /proc/stat) over a short window, less this process's own CPU time. The load average cannot
 * say this: it is a one-minute mean that includes this process, so right after bench's own
 * two-thread rows a quiet 2-core machine shows a load above 1.
 */
import { readFileSync } from 'node:fs';

/** Busy and total jiffies summed over all CPUs (the first line of /proc/stat), or null off Linux. */
export function readCpuJiffies(text?: string): { busy: number; total: number } | null {
  let stat = text;
  if (stat === undefined) {
    try {
      stat = readFileSync('/proc/stat', 'utf8');
    } catch {
      return null;
    }
  }
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * Cores' worth of CPU that other processes used during a `windowMs` pause of this one (0 = the
 * machine was otherwise idle; `cores` = every core busy), or null where /proc/stat is unavailable.
 * Steal time counts as busy: on a VM it is another guest holding the core.
 */
export async function othersBusyCores(cores: number, windowMs = 500): Promise<number | null> {
  const a = readCpuJiffies();
  if (!a) return null;
  const own0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const own = process.cpuUsage(own0);
  const b = readCpuJiffies();
  if (!b || b.total <= a.total) return null;
  const busyShare = (b.busy - a.busy) / (b.total - a.total);
  const ownCores = (own.user + own.system) / 1000 / windowMs;
  return Math.min(cores, Math.max(0, busyShare * cores - ownCores));
}

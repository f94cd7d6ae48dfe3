import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** This process's identity, stamped on every suite and run it starts. */
export interface ProcessIdentity {
  hostname: string;
  pid: number;
  /** Random per `openTracker` call: tells apart invocations that reuse a pid. */
  invocationId: string;
}

export function currentIdentity(): ProcessIdentity {
  return { hostname: hostname(), pid: process.pid, invocationId: randomUUID() };
}

/** Whether a process with this pid exists on this host (signal 0 only checks). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

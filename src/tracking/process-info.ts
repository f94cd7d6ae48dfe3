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

export { isPidAlive } from '../util/stale-temps.js';

/** Errors recorded when a queued run changes hands; one wording for every store. */

/** On a row left `running` by an attempt whose queue lease expired (its worker presumed dead). */
export const SUPERSEDED_ERROR = 'its worker stopped heartbeating; the queue gave the run to another worker';

/** On a row whose exclusive completion lost: another row completed the same config first. */
export function supersededBy(otherId: number | undefined, status: string): string {
  return otherId !== undefined
    ? `finished after run ${otherId} had already completed the same config; not counted`
    : `finished after the run was given to another worker (row was ${status}); not counted`;
}

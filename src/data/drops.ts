/** Why a row was dropped, with the sentence the summary shows. Every dropped row has exactly one. */
export const DROP_REASONS = {
  not_an_object: 'the row is not a JSON object',
  missing_field: 'a required field (prompt, response, message content) is missing or null',
  non_string_field: 'a field that must be text is not a string',
  empty_prompt: 'the prompt (instruction or user message) is empty',
  empty_response: 'the response is empty',
  bad_messages: 'the messages are not a list of {role, content} ending with a user turn and an assistant reply',
  multi_turn: 'a multi-turn conversation, which the alpaca and plain templates cannot render',
  too_long: 'longer than --max-seq-len tokens (--overflow drop)',
  prompt_too_long: 'the prompt alone fills --max-seq-len, so no response token would remain (--overflow truncate)',
  duplicate: 'an exact duplicate of an earlier row (the earliest copy is kept)',
} as const;

export type DropReason = keyof typeof DROP_REASONS;

/** How many offending row numbers each reason keeps, to show where to look. */
export const SAMPLE_ROWS_PER_REASON = 5;

export interface DropCount {
  count: number;
  /** The lowest offending row numbers (1-based source rows), in ascending order. */
  first_rows: number[];
}

/** Counts dropped rows by reason, keeping the first few row numbers of each. */
export class DropTally {
  private readonly byReason = new Map<DropReason, DropCount>();
  total = 0;

  add(reason: DropReason, row: number): void {
    let c = this.byReason.get(reason);
    if (!c) this.byReason.set(reason, (c = { count: 0, first_rows: [] }));
    c.count++;
    // Rows arrive in shuffled order; keep the lowest numbers, which are the easiest to find.
    const rows = c.first_rows;
    if (rows.length < SAMPLE_ROWS_PER_REASON || row < rows[rows.length - 1]) {
      let i = rows.length;
      while (i > 0 && rows[i - 1] > row) i--;
      rows.splice(i, 0, row);
      if (rows.length > SAMPLE_ROWS_PER_REASON) rows.pop();
    }
    this.total++;
  }

  /** Reasons in a fixed order, each with its count and first rows; reasons never seen are left out. */
  toJSON(): Partial<Record<DropReason, DropCount>> {
    const out: Partial<Record<DropReason, DropCount>> = {};
    for (const reason of Object.keys(DROP_REASONS) as DropReason[]) {
      const c = this.byReason.get(reason);
      if (c) out[reason] = { count: c.count, first_rows: [...c.first_rows] };
    }
    return out;
  }

  /** One line per reason: `duplicate: 3 (rows 4, 9, 12)`. */
  describe(): string {
    return Object.entries(this.toJSON())
      .map(([reason, c]) => `${reason}: ${c!.count} (row${c!.count > 1 ? 's' : ''} ${c!.first_rows.join(', ')}${c!.count > c!.first_rows.length ? ', …' : ''})`)
      .join('; ');
  }
}

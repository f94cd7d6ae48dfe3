/** Plain-text and Markdown tables. Columns whose cells all look numeric are right-aligned. */

export type Align = 'left' | 'right';

// A number (or a min–max range of two) with an optional unit, optionally followed by its min–max range in brackets.
const NUMERIC = /^[-+]?[\d.,]+(e[-+]?\d+)?(–[\d.,]+)?\s*(%|[kMB]|[KMGT]?i?B|s|ms|h .*|m .*)?( \(.*\))?$|^–$/;

function alignments(headers: readonly string[], rows: readonly (readonly string[])[]): Align[] {
  return headers.map((_, c) => (rows.length > 0 && rows.every((r) => NUMERIC.test(r[c] ?? '')) ? 'right' : 'left'));
}

/** A terminal table: header, a rule, rows; columns padded to their widest cell. */
export function formatTextTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = alignments(headers, rows);
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (align[c] === 'right' ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub-flavoured Markdown table; `|` inside cells is escaped, newlines become spaces. */
export function formatMarkdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = alignments(headers, rows);
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const row = (cells: readonly string[]): string => `| ${cells.map(esc).join(' | ')} |`;
  return [row(headers), `|${align.map((a) => (a === 'right' ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map(row)].join(
    '\n',
  );
}

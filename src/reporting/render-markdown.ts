import type { Block } from './document.js';
import { formatMarkdownTable } from './text-table.js';

/** RESULTS.md: charts as SVG images (GitHub renders them), with links to the PNG and the spec. */
export function renderMarkdown(blocks: readonly Block[]): string {
  const parts = blocks.map((b): string => {
    switch (b.kind) {
      case 'heading':
        return `${'#'.repeat(b.level)} ${b.text}`;
      case 'paragraph':
        return b.text;
      case 'list':
        return b.items.map((i) => `- ${i}`).join('\n');
      case 'table':
        return formatMarkdownTable(b.headers, b.rows);
      case 'chart': {
        const c = b.chart;
        return `![${c.title}](charts/${c.name}.svg)\n\n*${c.caption}* ([PNG](charts/${c.name}.png) · [Vega-Lite spec](charts/${c.name}.vl.json))`;
      }
    }
  });
  return `${parts.join('\n\n')}\n`;
}

import type { Block } from './document.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The inline Markdown the report uses: `code`, **bold**, *italic*. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*]+)\*/g, '<em>$1</em>');
}

const NUMERIC = /^[-+]?[\d.,]+(e[-+]?\d+)?(\s|$)|^–$/;

const STYLE = `
body { font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #eee; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 4px 8px; white-space: nowrap; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 13px; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
`;

/**
 * report.html: self-contained — the charts are the same SVGs inlined, so it needs no script,
 * no network and no other file to display.
 */
export function renderHtml(title: string, blocks: readonly Block[], svgs: ReadonlyMap<string, string>): string {
  const body = blocks.map((b): string => {
    switch (b.kind) {
      case 'heading':
        return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
      case 'paragraph':
        return `<p>${inline(b.text)}</p>`;
      case 'list':
        return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`;
      case 'table': {
        const head = `<tr>${b.headers.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>`;
        const rows = b.rows.map((r) => `<tr>${r.map((c) => `<td${NUMERIC.test(c) ? ' class="num"' : ''}>${inline(c)}</td>`).join('')}</tr>`);
        return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
      }
      case 'chart': {
        const svg = svgs.get(b.chart.name) ?? '';
        // Drop the XML prolog if any: it is not allowed inside an HTML body.
        const inlineSvg = svg.replace(/^<\?xml[^>]*>\s*/, '');
        return `<figure class="chart" id="chart-${escapeHtml(b.chart.name)}" data-chart="${escapeHtml(b.chart.name)}">\n${inlineSvg}\n<figcaption>${inline(b.chart.caption)}</figcaption>\n</figure>`;
      }
    }
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

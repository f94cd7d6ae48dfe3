import { existsSync, readdirSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { silentLogger, type Logger } from '../util/logger.js';
import type { VlSpec } from './charts/chart.js';

/** Vega's logger interface, forwarding to ours at debug level instead of the console. */
function vegaLogger(logger: Logger): vega.LoggerInterface {
  const self: vega.LoggerInterface = {
    level: ((..._: unknown[]) => self) as vega.LoggerInterface['level'],
    error: (...args: readonly unknown[]) => (logger.warn({ vega: args.map(String) }, 'vega error'), self),
    warn: (...args: readonly unknown[]) => (logger.debug({ vega: args.map(String) }, 'vega warning'), self),
    info: () => self,
    debug: () => self,
  };
  return self;
}

/** Vega-Lite → Vega → SVG, headless: the 'none' renderer needs no canvas or DOM. */
export async function renderSvg(spec: VlSpec, logger: Logger = silentLogger): Promise<string> {
  const log = vegaLogger(logger);
  const vg = compile(spec as unknown as TopLevelSpec, { logger: log }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logger: log });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', '/System/Library/Fonts', '/Library/Fonts', 'C:\\Windows\\Fonts'];

function hasFontFiles(dir: string, depth = 0): boolean {
  if (depth > 4 || !existsSync(dir)) return false;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isFile() && /\.(ttf|otf|ttc)$/i.test(e.name)) return true;
      if (e.isDirectory() && hasFontFiles(`${dir}/${e.name}`, depth + 1)) return true;
    }
  } catch {
    return false;
  }
  return false;
}

let fontsChecked = false;

/**
 * SVG → PNG at 2× for sharp text. resvg draws text only with fonts it can find: it loads the
 * system's, and with none installed (a bare container) it silently drops every label, so warn
 * once; the SVG and HTML charts are unaffected (the viewer's fonts render them).
 */
export function renderPng(svg: string, logger?: Logger): Buffer {
  if (!fontsChecked) {
    fontsChecked = true;
    if (!FONT_DIRS.some((d) => hasFontFiles(d))) {
      logger?.warn('no system fonts found: PNG charts will have no text (install fonts-dejavu-core); SVG and HTML charts are fine');
    }
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

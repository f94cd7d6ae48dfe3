/**
 * Opens report.html in Debian's headless Chromium and checks that the charts rendered: the DOM
 * Chromium builds has one inline <svg> with drawn marks per chart figure, and a full-page
 * screenshot is not blank and shows the charts' palette colours (text alone would not).
 *
 *   npx tsx scripts/check-report-html.ts                      # builds the fixture study and its report first
 *   npx tsx scripts/check-report-html.ts results/report/report.html [--screenshot shot.png]
 *
 * Needs `chromium` on PATH (Debian: apt-get install -y chromium). Exits 1 when a check fails.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { generateReport } from '../src/reporting/index.js';
import { buildStudyFixture } from '../tests/fixtures/tracking/study-fixture.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
];

export function findChromium(): string | null {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [bin], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

function chromium(bin: string, args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  try {
    const r = spawnSync(bin, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into RGBA rows. */
export function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      colorType = data[9];
      if (data[8] !== 8 || data[12] !== 0 || (colorType !== 2 && colorType !== 6)) {
        throw new Error(`unsupported PNG: bit depth ${data[8]}, colour type ${colorType}, interlace ${data[12]}`);
      }
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = px[i * bpp];
    rgba[i * 4 + 1] = px[i * bpp + 1];
    rgba[i * 4 + 2] = px[i * bpp + 2];
    rgba[i * 4 + 3] = bpp === 4 ? px[i * bpp + 3] : 255;
  }
  return { width, height, rgba };
}

export interface HtmlCheck {
  figures: number;
  figuresWithMarks: number;
  width: number;
  height: number;
  /** Share of pixels that are not near-white. */
  inkFraction: number;
  /** Pixels close to the charts' blue (#4c78a8) and red (#e45756). */
  paletteBlue: number;
  paletteRed: number;
  problems: string[];
}

/** Runs both checks on one report.html; `problems` is empty when the charts rendered. */
export function checkReportHtml(htmlPath: string, screenshotPath: string): HtmlCheck {
  const bin = findChromium();
  if (!bin) throw new Error('chromium not found on PATH (Debian: apt-get install -y chromium)');
  const url = pathToFileURL(resolve(htmlPath)).href;
  const dom = chromium(bin, ['--dump-dom', url]);
  const figures = dom.split('<figure class="chart"').slice(1).map((f) => f.split('</figure>')[0]);
  // Vega's SVG draws marks as <path>/<line>/<rect> inside groups with role-mark classes.
  const withMarks = figures.filter((f) => /<svg[\s\S]*class="mark-/.test(f) && (f.match(/<path|<line|<rect/g)?.length ?? 0) > 20);

  const shotDir = mkdtempSync(join(tmpdir(), 'report-shot-'));
  const shot = join(shotDir, 'screenshot.png');
  try {
    chromium(bin, ['--window-size=1280,6000', `--screenshot=${shot}`, url]);
    copyFileSync(shot, screenshotPath);
  } finally {
    rmSync(shotDir, { recursive: true, force: true });
  }
  const { width, height, rgba } = decodePng(readFileSync(screenshotPath));
  let ink = 0;
  let blue = 0;
  let red = 0;
  const near = (i: number, r: number, g: number, b: number): boolean =>
    Math.abs(rgba[i] - r) < 24 && Math.abs(rgba[i + 1] - g) < 24 && Math.abs(rgba[i + 2] - b) < 24;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] < 235 || rgba[i + 1] < 235 || rgba[i + 2] < 235) ink++;
    if (near(i, 0x4c, 0x78, 0xa8)) blue++;
    if (near(i, 0xe4, 0x57, 0x56)) red++;
  }
  const problems: string[] = [];
  if (figures.length === 0) problems.push('no chart figures in the DOM');
  if (withMarks.length !== figures.length) problems.push(`${figures.length - withMarks.length} of ${figures.length} figures have no drawn SVG marks`);
  const inkFraction = ink / (width * height);
  if (inkFraction < 0.01) problems.push(`screenshot is blank (${(inkFraction * 100).toFixed(2)}% ink)`);
  if (blue < 500 || red < 200) problems.push(`screenshot shows too few chart colours (blue ${blue}, red ${red} pixels)`);
  return { figures: figures.length, figuresWithMarks: withMarks.length, width, height, inkFraction, paletteBlue: blue, paletteRed: red, problems };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const shotIdx = args.indexOf('--screenshot');
  const screenshot = shotIdx >= 0 ? args.splice(shotIdx, 2)[1] : 'report-screenshot.png';
  let html = args[0];
  let tmp: string | null = null;
  if (!html) {
    tmp = mkdtempSync(join(tmpdir(), 'check-report-'));
    buildStudyFixture(join(tmp, 'experiments.db'));
    const r = await generateReport({ dbPath: join(tmp, 'experiments.db'), outDir: join(tmp, 'report') });
    html = r.htmlPath;
    process.stderr.write(`built the fixture study and its report in ${tmp}\n`);
  }
  try {
    const check = checkReportHtml(html, screenshot);
    process.stdout.write(`${JSON.stringify({ html, screenshot, ...check }, null, 2)}\n`);
    if (check.problems.length) {
      process.stderr.write(`report.html check FAILED:\n${check.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`report.html OK: ${check.figuresWithMarks}/${check.figures} charts rendered; screenshot at ${screenshot}\n`);
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) await main();

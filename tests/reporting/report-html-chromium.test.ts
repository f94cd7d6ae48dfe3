import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateReport } from '../../src/reporting/index.js';
import { checkReportHtml, findChromium } from '../../scripts/check-report-html.js';
import { buildStudyFixture } from '../fixtures/tracking/study-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'report-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Debian's chromium (apt-get install -y chromium); machines without it skip this check.
describe.skipIf(findChromium() === null)('report.html in headless Chromium', () => {
  it('renders every chart', async () => {
    buildStudyFixture(join(dir, 'experiments.db'));
    const r = await generateReport({ dbPath: join(dir, 'experiments.db'), outDir: join(dir, 'report') });
    const check = checkReportHtml(r.htmlPath, join(dir, 'screenshot.png'));
    expect(check.problems).toEqual([]);
    expect(check.figures).toBe(r.charts.length);
    expect(check.figuresWithMarks).toBe(r.charts.length);
  });
});

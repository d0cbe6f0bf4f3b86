import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns } from '../../../../src/compare/compareRuns.js';
import { applyOverrides } from '../../../../src/profile/overrides.js';
import { comparisonHtml } from '../../../../src/report/html/compareHtml.js';
import { forecastHtml } from '../../../../src/report/html/forecastHtml.js';
import { runHtml } from '../../../../src/report/html/runHtml.js';
import { readRunTimeline } from '../../../../src/report/html/runTimeline.js';
import { whatifHtml } from '../../../../src/report/html/whatifHtml.js';
import { forecastReport } from '../../../../src/report/pipeline.js';
import { chromiumMissing, launchChromium, renderReport } from '../../../support/browser.js';
import { defaultProfile, tempDir } from '../../../support/helpers.js';
import { ROOT } from '../../../support/paths.js';
import { STATIONS, writeSyntheticRun } from '../../compare/syntheticRuns.js';

const missing = chromiumMissing();
if (missing) console.log(`skipping the browser tests of the HTML reports: ${missing}`);

const settings = { months: 24, start: '2026-12', method: 'analytic' as const, draws: 200, seed: 1 };

/** Each report, built as the CLI builds it, written where Chromium opens it. */
const reports: Record<string, () => Promise<string>> = {
  forecast: async () => forecastHtml(forecastReport(defaultProfile(), settings)),
  whatif: async () => {
    const relay = { name: 'relay.example', postsPerHour: 3000 };
    const after = forecastReport(applyOverrides(defaultProfile(), { relays: [relay] }), settings);
    return whatifHtml(forecastReport(defaultProfile(), settings), after, { ...relay, mediaFraction: null });
  },
  compare: async () => {
    const base = writeSyntheticRun({ seed: 1, durationSec: 120 });
    const slower = { ...STATIONS, 'timelines/home': { ...STATIONS['timelines/home']!, slowdown: 1.4 } };
    const candidate = writeSyntheticRun({ seed: 2, durationSec: 120, stations: slower });
    return comparisonHtml(await compareRuns(base, candidate, { threshold: 0.1, alpha: 0.05 }));
  },
  run: async () => runHtml(await readRunTimeline(`${ROOT}/fixtures/runs/testbed-mixed-step-2026-12-03`)),
};

describe.skipIf(missing !== null)('the HTML reports in headless Chromium', () => {
  let browser: Browser;
  const dir = tempDir('fedicap-html-');
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const [name, build] of Object.entries(reports)) {
    it(`${name}: renders offline with no console error, every chart drawn`, async () => {
      const file = join(dir, `${name}.html`);
      writeFileSync(file, await build());
      const r = await renderReport(browser, file);
      expect(r.problems).toEqual([]);
      expect(r.requests).toEqual([pathToFileURL(file).href]);
      expect(Object.keys(r.chartInk).length).toBeGreaterThan(0);
      // A drawn chart inks some of its box (axes, grid, marks, labels; a flat line about 2 %), not none, not all.
      for (const [id, ink] of Object.entries(r.chartInk)) {
        expect(ink, id).toBeGreaterThan(0.01);
        expect(ink, id).toBeLessThan(0.9);
      }
      expect(r.pageInk).toBeGreaterThan(0.01);
      expect(r.captions).toBe(r.tables);
    });
  }
});

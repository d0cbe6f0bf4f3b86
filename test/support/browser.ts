/**
 * Opening a report in real headless Chromium (Debian's, driven by playwright-core): what it
 * asked the network for, what it logged, and how much ink each chart put on the screen.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--disable-background-networking'] });
}

export interface Rendered {
  /** Every URL the page requested, the file itself included. */
  requests: string[];
  /** Console errors and warnings, and uncaught page errors. */
  problems: string[];
  /** Share of non-white pixels in each chart's screenshot, by figure id. */
  chartInk: Record<string, number>;
  /** Share of non-white pixels in the first screen of the page. */
  pageInk: number;
  tables: number;
  captions: number;
}

/** Share of pixels that are not (nearly) white in a PNG. */
export async function inkShare(png: Buffer): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let ink = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235) ink++;
  }
  return ink / (info.width * info.height);
}

export async function renderReport(browser: Browser, file: string): Promise<Rendered> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => void requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => void problems.push(`pageerror: ${e.message}`));
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 30_000 });
    const chartInk: Record<string, number> = {};
    for (const figure of await page.locator('figure.chart').all()) {
      const id = (await figure.getAttribute('id')) ?? '?';
      chartInk[id] = await inkShare(await figure.locator('svg').first().screenshot({ timeout: 30_000 }));
    }
    const pageInk = await inkShare(await page.screenshot());
    const tables = await page.locator('table').count();
    const captions = await page.locator('table > caption').count();
    return { requests, problems, chartInk, pageInk, tables, captions };
  } finally {
    await page.close();
  }
}

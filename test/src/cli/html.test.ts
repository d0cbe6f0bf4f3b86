import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../support/helpers.js';
import { partById, tablesOf } from '../../support/html.js';
import { MAIN, ROOT } from '../../support/paths.js';
import { STATIONS, writeSyntheticRun } from '../compare/syntheticRuns.js';

/** The built CLI, as users run it (the test command builds first). */
function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectInputError(r: ReturnType<typeof fedicap>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

const FORECAST = ['forecast', '--start', '2026-12', '--draws', '100', '--months', '18'];

describe('fedicap forecast --format html', () => {
  it('writes forecast.html whose numbers are those of --format json, and nothing on stderr but the path', () => {
    const dir = tempDir('fedicap-html-cli-');
    const r = fedicap(...FORECAST, '--format', 'html', '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`wrote ${join(dir, 'forecast.html')}\n`);
    expect(readdirSync(dir)).toEqual(['forecast.html']);
    const html = readFileSync(join(dir, 'forecast.html'), 'utf8');
    const json = JSON.parse(fedicap(...FORECAST, '--format', 'json').stdout);
    const [util] = tablesOf(partById(html, 'chart-utilization'));
    const ids = util!.head.slice(1);
    json.months.forEach((m: { components: { id: string; utilization: number }[] }, i: number) => {
      ids.forEach((id, j) => {
        expect(Number(util!.rows[i]![j + 1]!.value)).toBe(m.components.find((c) => c.id === id)!.utilization);
      });
    });
  });

  it('bad input: one message, exit 2, no HTML written', () => {
    const dir = tempDir('fedicap-html-cli-');
    const r = fedicap(...FORECAST, '--format', 'html', '--out', dir, '--profile', join(dir, 'none.json'));
    expectInputError(r, /none\.json/);
    expect(existsSync(join(dir, 'forecast.html'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('fedicap whatif relay --format html', () => {
  it('writes whatif-relay.html with the change in words and both storage series of the JSON', () => {
    const dir = tempDir('fedicap-html-cli-');
    const args = ['whatif', 'relay', '--posts-per-hour', '3000', '--start', '2026-12', '--draws', '0'];
    const r = fedicap(...args, '--format', 'html', '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'whatif-relay.html'), 'utf8');
    expect(html).toMatch(/<li>Joining this relay: storage saturates earlier by \d+ months?/);
    const { before, after } = JSON.parse(fedicap(...args, '--format', 'json').stdout);
    const [storage] = tablesOf(partById(html, 'chart-storage'));
    expect(storage!.rows.map((row) => [Number(row[1]!.value), Number(row[2]!.value)])).toEqual(
      before.months.map((m: { storage: { mediaGB: number } }, i: number) => [
        m.storage.mediaGB,
        after.months[i].storage.mediaGB,
      ]),
    );
  });
});

describe('fedicap compare --format html', () => {
  it('writes compare.html with the verdict, exit 1 on the regression as with Markdown', () => {
    const dir = tempDir('fedicap-html-cli-');
    const base = writeSyntheticRun({ seed: 1, durationSec: 60 });
    const slower = { ...STATIONS, 'timelines/home': { ...STATIONS['timelines/home']!, slowdown: 1.6 } };
    const candidate = writeSyntheticRun({ seed: 2, durationSec: 60, stations: slower });
    const r = fedicap('compare', base, candidate, '--format', 'html', '--out', dir);
    expect(r.code, r.stderr).toBe(1);
    const html = readFileSync(join(dir, 'compare.html'), 'utf8');
    expect(html).toMatch(/<h2>Verdict: \d+ regressions?<\/h2>/);
    expect(html).toContain('id="chart-latency"');
  });

  it('a missing run directory: one message, exit 2, no compare.html', () => {
    const dir = tempDir('fedicap-html-cli-');
    const base = writeSyntheticRun({ seed: 1, durationSec: 30 });
    const r = fedicap('compare', base, join(dir, 'nowhere'), '--format', 'html', '--out', dir);
    expectInputError(r, /nowhere/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('fedicap report RUN_DIR', () => {
  const FIXTURE = `${ROOT}/fixtures/runs/testbed-mixed-step-2026-12-03`;

  it('writes the run report to --out, client and server halves, and prints only where', () => {
    const dir = tempDir('fedicap-html-cli-');
    const out = join(dir, 'run.html');
    const r = fedicap('report', FIXTURE, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`wrote ${out}\n`);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('id="chart-client"');
    expect(html).toContain('id="chart-queue-size"');
    expect(readdirSync(dir)).toEqual(['run.html']);
  });

  it('a missing run directory: one message, exit 2, nothing written', () => {
    const dir = tempDir('fedicap-html-cli-');
    const r = fedicap('report', join(dir, 'nowhere'), '--out', join(dir, 'run.html'));
    expectInputError(r, /nowhere: cannot read the run directory \(ENOENT\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a corrupt k6 line: the file and line named, exit 2, no partial HTML', () => {
    const dir = tempDir('fedicap-html-cli-');
    const run = join(dir, 'run');
    const out = join(dir, 'out');
    for (const d of [run, out]) spawnSync('mkdir', [d]);
    copyFileSync(join(FIXTURE, 'run.json'), join(run, 'run.json'));
    writeFileSync(
      join(run, 'k6.ndjson'),
      `{"type":"Point","data":{"time":"2026-12-03T19:07:20.000Z","value":1,"tags":null},"metric":"http_reqs"}\n{"type":"Point","data":\n`,
    );
    const r = fedicap('report', run, '--out', join(out, 'run.html'));
    expectInputError(r, /k6\.ndjson:2/);
    expect(readdirSync(out)).toEqual([]);
  });
});

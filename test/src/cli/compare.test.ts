import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../support/helpers.js';
import { MAIN, ROOT } from '../../support/paths.js';
import { STATIONS, writeSyntheticRun } from '../compare/syntheticRuns.js';

const FIXTURE = `${ROOT}/fixtures/runs/testbed-mixed-step-2026-12-03`;

function fedicap(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectInputError(r: ReturnType<typeof fedicap>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

describe('fedicap compare', () => {
  it('exits 0 on the recorded run compared with itself, and writes JSON into --out', () => {
    const out = tempDir('fedicap-compare-out-');
    const r = fedicap(['compare', FIXTURE, FIXTURE, '--format', 'json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(['compare.json']);
    const doc = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(doc.regressions).toEqual([]);
    expect(doc.rows.length).toBeGreaterThan(54);
    expect(doc.settings).toMatchObject({ threshold: 0.1, alpha: 0.05, windowSec: 10, seed: 1 });
  });

  it('exits 1 and names the regression first when the home timeline is 40 % slower', () => {
    const base = writeSyntheticRun({ seed: 1, durationSec: 120 });
    const slower = { ...STATIONS, 'timelines/home': { ...STATIONS['timelines/home']!, slowdown: 1.4 } };
    const candidate = writeSyntheticRun({ seed: 2, durationSec: 120, stations: slower });
    const r = fedicap(['compare', base, candidate]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^# fedicap compare: 3 regressions/);
    const first = r.stdout.split('## Regressions, worst first\n\n')[1]!.split('\n')[0]!;
    expect(first).toMatch(/^- timelines\/home p\d\d \+\d+ % \(CI \+\d+ % to \+\d+ %\)/);
    // A threshold above the change: still measured, no longer a regression.
    expect(fedicap(['compare', base, candidate, '--threshold', '80%']).code).toBe(0);
  });

  it('exits 2 with one line for runs of different load, bad flags, missing or truncated runs', () => {
    const base = writeSyntheticRun({ seed: 1, durationSec: 30 });
    const doubled = writeSyntheticRun({ seed: 2, durationSec: 30, scale: 2 });
    expectInputError(fedicap(['compare', base, doubled]), /did not offer the same load \(scale 1 vs 2;/);
    expectInputError(
      fedicap(['compare', base, base, '--threshold', '10']),
      /--threshold: .*positive percentage/,
    );
    expectInputError(
      fedicap(['compare', base, base, '--alpha', '1.5']),
      /--alpha: expected a number between 0 and 1/,
    );
    expectInputError(fedicap(['compare', base, join(base, 'nope')]), /nope: cannot read the run directory/);
    const cut = writeSyntheticRun({ seed: 3, durationSec: 30 });
    appendFileSync(join(cut, 'k6.ndjson'), '{"type":"Point","data":{"time":"2026-01-05T10:00:20Z","val');
    const lines = readFileSync(join(cut, 'k6.ndjson'), 'utf8').split('\n').length;
    expectInputError(fedicap(['compare', base, cut]), new RegExp(`k6\\.ndjson:${lines}: not JSON`));
    const out = tempDir('fedicap-compare-out-');
    expectInputError(fedicap(['compare', base, doubled, '--out', join(out, 'report')]), /same load/);
    expect(existsSync(join(out, 'report'))).toBe(false);
  });
});

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../support/helpers.js';
import { MAIN, ROOT } from '../../support/paths.js';

function fedicap(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectInputError(r: ReturnType<typeof fedicap>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('fedicap calibrate: bad input', () => {
  it('names the run directory that is missing, has no k6 output, or has no samples, and writes nothing', () => {
    const dir = tempDir('fedicap-calibrate-');
    const out = join(dir, 'calibration.json');
    const missing = join(dir, 'nope');
    expectInputError(fedicap(['calibrate', missing, '--target-kind', 'testbed', '-o', out]), /nope/);
    const empty = join(dir, 'empty');
    const run = tempDir('fedicap-calibrate-run-');
    expectInputError(fedicap(['calibrate', run, '--target-kind', 'testbed', '-o', out]), new RegExp(run));
    writeFileSync(
      join(run, 'k6.ndjson'),
      `${JSON.stringify({ type: 'Point', metric: 'http_reqs', data: { time: new Date().toISOString(), value: 1, tags: { station: 'inbox' } } })}\n`,
    );
    writeFileSync(
      join(run, 'run.json'),
      JSON.stringify({
        scenario: '/x/mixed.ts',
        target: 'http://127.0.0.1:3000',
        engine: 'local',
        startedAt: new Date(Date.now() - 1000).toISOString(),
        endedAt: new Date(Date.now() + 1000).toISOString(),
        env: {},
        profile: null,
        scale: null,
        duration: null,
        exitCode: 0,
      }),
    );
    expectInputError(
      fedicap(['calibrate', run, '--target-kind', 'testbed', '-o', out]),
      /no samples\.ndjson .*fedicap run --collect/,
    );
    expectInputError(fedicap(['calibrate', run, '-o', out]), /target-kind/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(empty)).toBe(false);
  });

  it('refuses samples whose clock is an hour off the run, naming the file and both spans', () => {
    const fixture = join(ROOT, 'fixtures/runs/testbed-mixed-step-2026-12-03');
    const run = tempDir('fedicap-calibrate-skew-');
    for (const f of readdirSync(fixture))
      if (f !== 'samples.ndjson.gz') copyFileSync(join(fixture, f), join(run, f));
    const shifted = gunzipSync(readFileSync(join(fixture, 'samples.ndjson.gz')))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const sample = JSON.parse(line);
        sample.time = new Date(Date.parse(sample.time) - 3_600_000).toISOString();
        return JSON.stringify(sample);
      });
    writeFileSync(join(run, 'samples.ndjson'), `${shifted.join('\n')}\n`);
    const out = join(run, 'calibration.json');
    rmSync(out, { force: true });
    expectInputError(
      fedicap(['calibrate', run, '--target-kind', 'testbed', '-o', out]),
      /samples\.ndjson: the samples span .* but the run ran .*clock is off/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('calibrates the recorded testbed run into the file forecast reads', () => {
    const out = join(tempDir('fedicap-calibrate-ok-'), 'calibration.json');
    const r = fedicap([
      'calibrate',
      join(ROOT, 'fixtures/runs/testbed-mixed-step-2026-12-03'),
      '--target-kind',
      'testbed',
      '-o',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*calibration\.json: \d+ job classes/);
    // USL fits per pool (processes named sidekiq-QUEUES-N) and for the web, one point a window
    const usl = JSON.parse(readFileSync(out, 'utf8')).usl as { component: string; points: number }[];
    expect(usl.map((u) => u.component)).toEqual(expect.arrayContaining(['sidekiq-process:ingress', 'web']));
    for (const u of usl) expect(u.points).toBeGreaterThanOrEqual(3);
    const forecast = fedicap(['forecast', '--calibration', out, '--format', 'json']);
    expect(forecast.code, forecast.stderr).toBe(0);
    expect(forecast.stderr).toContain("was measured on fedicap's testbed");
    expect(forecast.stdout).toContain('measured: run testbed-mixed-step-2026-12-03');
  });
});

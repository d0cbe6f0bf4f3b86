import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../support/helpers.js';
import { MAIN } from '../../support/paths.js';

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
});

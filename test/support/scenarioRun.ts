/**
 * Running a scenario as a user does, for the scenario tests: the built CLI in
 * a child process, its k6.ndjson.gz points and summary.json read back.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pointsOf, readK6Json } from '../../src/results/k6Json.js';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const MAIN = join(ROOT, 'dist/bin/fedicap.js');

export interface RunResult {
  code: number | null;
  stderr: string;
  out: string;
  summary: { metrics: Record<string, Record<string, number>> };
  /** k6.ndjson.gz Point lines. */
  points: { metric: string; value: number; tags: Record<string, string> }[];
}

/**
 * `fedicap run SCENARIO --engine local` (the built CLI) in a child process: asynchronous, so the servers in
 * this process keep serving.
 */
export function runScenario(
  target: string,
  scenario: string,
  env: Record<string, string>,
  outDir: string,
): Promise<RunResult> {
  const host = new URL(target).host;
  const args = [
    MAIN,
    'run',
    join(ROOT, 'scenarios', scenario),
    '--engine',
    'local',
    '--target',
    target,
    '--confirm-target',
    host,
    '--out-dir',
    outDir,
  ];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', async (code) => {
      clearTimeout(timer);
      let summary: RunResult['summary'] = { metrics: {} };
      const points: RunResult['points'] = [];
      try {
        summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as RunResult['summary'];
        for await (const p of pointsOf(readK6Json(join(outDir, 'k6.ndjson.gz')))) {
          points.push({ metric: p.metric, value: p.data.value, tags: p.data.tags ?? {} });
        }
      } catch {
        // no outputs (input errors): the caller looks at code and stderr
      }
      resolveRun({ code, stderr, out: outDir, summary, points });
    });
  });
}

/** What the scenario's own verdict observed of an effect (its `effects{effect:NAME}` threshold). */
export const effect = (r: RunResult, name: string) =>
  r.summary.metrics[`effects{effect:${name}}`]?.count ?? 0;

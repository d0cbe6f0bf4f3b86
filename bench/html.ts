/**
 * Benchmark (not a timed test) of the HTML capacity report, issue 13's figure: the default
 * profile's report builds in under 1 s and stays under 500 KB. Printed beside `node -e 0`
 * measured in the same run, since machines (and their load) differ. Run with `npm run bench:html`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile } from '../src/profile/load.js';
import { forecastHtml } from '../src/report/html/forecastHtml.js';
import { forecastReport } from '../src/report/pipeline.js';

const MAIN = fileURLToPath(new URL('../bin/fedicap.js', import.meta.url));
const RUNS = 5;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Wall time of one whole process. */
function processSec(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return seconds(t0);
}

/** Median wall times of commands run `RUNS` times, interleaved so that a change in load hits them alike. */
function interleavedSec(commands: string[][]): number[] {
  const times = commands.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, args] of commands.entries()) times[j]!.push(processSec(args));
  }
  return times.map(median);
}

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}`,
);

// In process: the report JSON once, then the HTML from it (the part issue 13 adds), cold then warm.
const report = forecastReport(loadProfile(), {
  months: 24,
  start: '2026-11',
  method: 'analytic',
  draws: 1000,
  seed: 1,
});
let t0 = process.hrtime.bigint();
const html = await forecastHtml(report);
const cold = seconds(t0);
const warm: number[] = [];
for (let i = 0; i < RUNS; i++) {
  t0 = process.hrtime.bigint();
  await forecastHtml(report);
  warm.push(seconds(t0));
}
const kb = Buffer.byteLength(html) / 1000;
console.log(
  `HTML capacity report from the forecast JSON, default profile, 24 months: first ${cold.toFixed(3)} s ` +
    `(vega's code not yet optimized), then ${median(warm).toFixed(3)} s (median of ${RUNS}); target < 1 s: ${cold.toFixed(2)}× the target`,
);
console.log(`  size ${kb.toFixed(0)} KB; target < 500 KB: ${(kb / 500).toFixed(2)}× the target`);

// The whole command, against the same command writing JSON: the difference is what HTML costs a user.
const dir = mkdtempSync(join(tmpdir(), 'fedicap-bench-html-'));
try {
  const args = ['forecast', '--months', '24', '--draws', '1000', '--start', '2026-11', '--out', dir];
  const [reference = 0, asHtml = 0, asJson = 0] = interleavedSec([
    ['-e', '0'],
    [MAIN, ...args, '--format', 'html'],
    [MAIN, ...args, '--format', 'json'],
  ]);
  console.log(
    `reference: node -e 0 ${reference.toFixed(3)} s (median of ${RUNS}, interleaved with the two below)`,
  );
  const fileKb = statSync(join(dir, 'forecast.html')).size / 1000;
  console.log(
    `fedicap forecast --format html, whole process: ${asHtml.toFixed(3)} s (median of ${RUNS}; ` +
      `${(asHtml / reference).toFixed(1)}× node -e 0), --format json ${asJson.toFixed(3)} s: HTML adds ` +
      `${(asHtml - asJson).toFixed(3)} s; forecast.html ${fileKb.toFixed(0)} KB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

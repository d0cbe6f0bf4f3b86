/**
 * Benchmarks (not timed tests): figures and ratios against the targets of the
 * capacity-model issue. Run with `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_QUEUE_WEIGHTS } from '../src/mastodon/classes.js';
import { seededRng } from '../src/shared/random.js';
import { simulatePool } from '../src/model/simulate.js';

const MAIN = fileURLToPath(new URL('../bin/fedicap.js', import.meta.url));
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function wholeProcessSec(args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`fedicap ${args.join(' ')} failed: ${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(times);
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);

const forecastArgs = [
  'forecast',
  '--months',
  '24',
  '--draws',
  '1000',
  '--format',
  'json',
  '--start',
  '2026-11',
];
const withMc = wholeProcessSec(forecastArgs, 5);
const withoutMc = wholeProcessSec(
  ['forecast', '--months', '24', '--draws', '0', '--format', 'json', '--start', '2026-11'],
  5,
);
const startup = wholeProcessSec(['--version'], 5);
console.log(
  `forecast, default profile, 24 months, 1,000 draws: ${withMc.toFixed(3)} s whole process (median of 5; target < 1 s: ${(withMc / 1).toFixed(2)}× the target)`,
);
console.log(
  `  of which: CLI start ${startup.toFixed(3)} s, central forecast + recommendations ${(withoutMc - startup).toFixed(3)} s, Monte Carlo ${(withMc - withoutMc).toFixed(3)} s (${(((withMc - withoutMc) / 1000) * 1e3).toFixed(2)} ms per draw)`,
);

// The discrete-event simulation: a Mastodon-like pool at 90 % utilization.
const w = DEFAULT_QUEUE_WEIGHTS;
const queues = [
  { queue: 'default', weight: w.default, arrivalRatePerSec: 40, serviceTimeSec: 0.05 },
  { queue: 'push', weight: w.push, arrivalRatePerSec: 50, serviceTimeSec: 0.36, failureProbability: 0.02 },
  { queue: 'ingress', weight: w.ingress, arrivalRatePerSec: 10, serviceTimeSec: 0.3 },
  { queue: 'pull', weight: w.pull, arrivalRatePerSec: 2, serviceTimeSec: 0.8 },
];
const threads = Math.ceil(queues.reduce((a, q) => a + q.arrivalRatePerSec * q.serviceTimeSec, 0) / 0.9);
const t0 = process.hrtime.bigint();
const sim = simulatePool({ threads, queues, jobs: 2_000_000, rng: seededRng(1) });
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  `simulation: ${sim.events.toLocaleString('en')} events in ${sec.toFixed(2)} s = ${(sim.events / sec / 1e6).toFixed(2)} M events/s (${threads} threads, 4 weighted queues, retries, utilization ${(sim.utilization * 100).toFixed(1)} %)`,
);

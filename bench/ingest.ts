/**
 * Ingesting k6 JSON output (not a timed test): `npm run bench:ingest [-- --size-mb N] [-- --reps N]`.
 * Generates a k6 `--out json` file of about 1 GB (ingest/generate.ts) in a temporary directory, then
 * runs, interleaved, (a) our aggregation (src/results/aggregate.ts: request count and p95 per
 * station; the lines of the metrics it aggregates parsed and checked, the others checked whole) in a
 * fresh node process and (b) Debian's `jq` doing the same aggregation, each under `/usr/bin/time` (wall time, CPU time, peak RSS). Prints MB/s and peak
 * RSS beside the targets (at least 100 MB/s, under 300 MB, at least 2× jq) with the spread over the
 * repetitions, checks that both found the same counts and p95s, and deletes the file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateK6Json } from './ingest/generate.js';

const SELF = fileURLToPath(import.meta.url);
const TIME = '/usr/bin/time';

/**
 * jq's pipeline, linear in the file: a streaming jq picks [metric, station, value] out of the 1 GB file
 * (the heavy part: every line parsed), a slurping jq groups the few MB of tuples. One jq that appends
 * each duration to a per-station array (`.[$s] += [$v]` in a reduce) copies the array on every append
 * in jq 1.6 and slows down with the file's size: 9 MB/s of CPU at 1 GB against 28 at 200 MB.
 */
const JQ_PICK =
  'select(.type == "Point" and (.metric == "http_reqs" or .metric == "http_req_duration"))' +
  ' | [.metric, (.data.tags.station // ""), .data.value]';
const JQ_GROUP =
  'group_by(.[1]) | map({key: .[0][1], value: {requests: (map(select(.[0] == "http_reqs") | .[2]) | add // 0),' +
  ' p95Ms: (map(select(.[0] == "http_req_duration") | .[2]) | sort' +
  ' | if length > 0 then .[((length * 0.95) | ceil) - 1] else null end)}}) | from_entries';
const jqCommand = (file: string) => [
  'sh',
  '-c',
  `jq -c '${JQ_PICK}' "$1" | jq -s -c '${JQ_GROUP}'`,
  'jq-pipeline',
  file,
];

type PerStation = Record<string, { requests: number; p95Ms: number | null }>;

interface Run {
  ok: boolean;
  wallSec: number;
  cpuSec: number;
  maxRssMB: number;
  perStation: PerStation;
  error?: string;
}

/** Child mode: our aggregation of one file, its figures on stdout as JSON. */
async function child(file: string): Promise<void> {
  const { aggregateK6Files } = await import('../src/results/aggregate.js');
  const result = await aggregateK6Files([file], { groupBy: 'station' });
  const perStation: PerStation = {};
  for (const g of result.groups) {
    if (g.requests > 0 || g.latencyCount > 0) perStation[g.group] = { requests: g.requests, p95Ms: g.p95Ms };
  }
  process.stdout.write(`${JSON.stringify(perStation)}\n`);
}

/** Run a command under /usr/bin/time; its stdout is the per-station JSON. */
function timed(command: string[], dir: string): Run {
  const timesFile = join(dir, 'time.txt');
  const r = spawnSync(TIME, ['-f', '%e %U %S %M', '-o', timesFile, ...command], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 3_600_000,
  });
  const [wall, user, sys, rssKb] = readFileSync(timesFile, 'utf8')
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  const run = { wallSec: wall!, cpuSec: user! + sys!, maxRssMB: rssKb! / 1024 };
  if (r.status !== 0) return { ok: false, ...run, perStation: {}, error: `${r.stderr}`.slice(0, 500) };
  return { ok: true, ...run, perStation: JSON.parse(r.stdout) as PerStation };
}

const spread = (xs: number[], digits: number) =>
  xs.length === 0
    ? 'n/a'
    : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Where the two aggregations disagree: counts exactly, p95 within HdrHistogram's 0.1 % (and 1 µs). */
function disagreements(ours: PerStation, theirs: PerStation): string[] {
  const out: string[] = [];
  for (const station of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const a = ours[station];
    const b = theirs[station];
    if (!a || !b) out.push(`${station}: only in ${a ? 'ours' : 'jq'}`);
    else if (a.requests !== b.requests) out.push(`${station}: ${a.requests} requests vs jq ${b.requests}`);
    else if (
      (a.p95Ms === null) !== (b.p95Ms === null) ||
      Math.abs(a.p95Ms! - b.p95Ms!) > b.p95Ms! * 1e-3 + 1e-3
    )
      out.push(`${station}: p95 ${a.p95Ms} ms vs jq ${b.p95Ms} ms`);
  }
  return out;
}

function parseArgs(argv: readonly string[]): { sizeMb: number; reps: number } {
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    const v = i < 0 ? fallback : Number(argv[i + 1]);
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`${name} needs a positive whole number`);
    return v;
  };
  return { sizeMb: flag('--size-mb', 1000), reps: flag('--reps', 3) };
}

function report(label: string, runs: Run[], mb: number): void {
  const ok = runs.filter((r) => r.ok);
  console.log(
    `${label}: ${spread(
      ok.map((r) => mb / r.wallSec),
      0,
    )} MB/s wall, ${spread(
      ok.map((r) => mb / r.cpuSec),
      0,
    )} MB/s of CPU time, peak RSS ${spread(
      ok.map((r) => r.maxRssMB),
      0,
    )} MB — median (min–max) of ${ok.length} successful of ${runs.length}`,
  );
  for (const r of runs) if (!r.ok) console.log(`  a failed run: ${r.error}`);
}

function main(): number {
  const { sizeMb, reps } = parseArgs(process.argv.slice(2));
  if (!existsSync(TIME)) {
    console.error(`bench:ingest needs ${TIME} (Debian's time package) for peak RSS`);
    return 2;
  }
  const hasJq = spawnSync('jq', ['--version'], { encoding: 'utf8' });
  const jqVersion = hasJq.status === 0 ? hasJq.stdout.trim() : null;
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-bench-ingest-'));
  process.once('SIGINT', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${jqVersion ?? 'no jq (only ours is measured)'}; load average ${loadavg()[0]!.toFixed(2)}`,
    );
    const file = join(dir, 'k6.ndjson');
    const t0 = process.hrtime.bigint();
    const generated = generateK6Json(file, sizeMb * 1e6);
    const mb = generated.bytes / 1e6;
    console.log(
      `generated ${mb.toFixed(0)} MB, ${generated.lines.toLocaleString('en')} lines, ${generated.requests.toLocaleString('en')} requests in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`,
    );
    const ours: Run[] = [];
    const jq: Run[] = [];
    for (let i = 0; i < reps; i++) {
      ours.push(timed([process.execPath, SELF, '--child', file], dir));
      if (jqVersion) jq.push(timed(jqCommand(file), dir));
      console.log(
        `  repetition ${i + 1}: ours ${(mb / ours[i]!.wallSec).toFixed(0)} MB/s${jqVersion ? `, jq ${(mb / jq[i]!.wallSec).toFixed(0)} MB/s` : ''}; load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    return summarize(ours, jq, mb);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(ours: Run[], jq: Run[], mb: number): number {
  report('ours (src/results, request count and p95 per station)', ours, mb);
  const okOurs = ours.filter((r) => r.ok);
  const okJq = jq.filter((r) => r.ok);
  if (okOurs.length === 0) return 1;
  const speed = median(okOurs.map((r) => mb / r.wallSec));
  const rss = median(okOurs.map((r) => r.maxRssMB));
  console.log(
    `  targets: ≥ 100 MB/s → ${(speed / 100).toFixed(2)}× the target; < 300 MB peak RSS → ${(rss / 300).toFixed(2)}× the limit`,
  );
  if (jq.length === 0) return 0;
  report('jq (streaming jq | slurping jq, same figures)', jq, mb);
  if (okJq.length === 0) return 1;
  const ratios = okOurs.slice(0, okJq.length).map((r, i) => okJq[i]!.wallSec / r.wallSec);
  console.log(
    `  ours / jq, wall time, paired by repetition: ${spread(ratios, 2)}× (target ≥ 2×); CPU time: ${(median(okJq.map((r) => r.cpuSec)) / median(okOurs.map((r) => r.cpuSec))).toFixed(2)}×`,
  );
  const differ = disagreements(okOurs[0]!.perStation, okJq[0]!.perStation);
  for (const d of differ) console.log(`  disagreement: ${d}`);
  if (differ.length === 0)
    console.log('  both found the same request counts, and p95s within 0.1 %, for every station');
  return differ.length > 0 ? 1 : 0;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else {
  process.exitCode = main();
}

/**
 * `fedicap compare` on the testbed (not a timed test): how often it raises a false alarm between two
 * runs of the same load (A/A pairs: the testbed as it is, run after run), and the smallest injected
 * regression it finds (`--inject-delay timelines/home=MS` for each delay, `--inject-cpu
 * FeedInsertWorker=MS`), each candidate against a run just before it, both after a restart. Run with
 * `npm run bench:compare [-- --pairs 10 --duration 30 --delays 5,10,20 --cpu 2 --window 2]` (needs the
 * local PostgreSQL and Redis; exit code 2 when they cannot be reached). Beside the figures: the base runs'
 * home timeline p95 and this machine's reference (bench/sidekiq/reference.ts), measured in the same run.
 * Every run is bounded: mixed.ts stops at its duration, the whole bench at 2 h.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseArgs } from 'node:util';
import { compareRuns } from '../src/compare/compareRuns.js';
import type { Comparison, Row } from '../src/compare/comparison.js';
import { comparisonMarkdown } from '../src/compare/markdown.js';
import { InputError } from '../src/shared/errors.js';
import { claimRedisDb, PG_ADMIN_URL, REDIS_URL } from '../test/support/isolation.js';
import { ProofWorld, type ProofRun } from './compare/proofWorld.js';
import { measureReference } from './sidekiq/reference.js';
import { preflight } from './testbed/setup.js';

const WHOLE_BENCH_DEADLINE_MS = 2 * 60 * 60 * 1000;
const THRESHOLD = 0.1;

interface Settings {
  pairs: number;
  durationSec: number;
  delaysMs: number[];
  cpuMs: number;
  windowSec: number;
}

function settingsOf(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      pairs: { type: 'string', default: '10' },
      duration: { type: 'string', default: '30' },
      delays: { type: 'string', default: '5,10,20' },
      cpu: { type: 'string', default: '2' },
      window: { type: 'string', default: '2' },
    },
  });
  const positive = (flag: string, text: string) => {
    const n = Number(text);
    if (!(n > 0)) throw new InputError(`--${flag}: expected a positive number, got "${text}"`);
    return n;
  };
  return {
    pairs: Math.round(positive('pairs', values.pairs)),
    durationSec: positive('duration', values.duration),
    delaysMs: values.delays.split(',').map((d) => positive('delays', d)),
    cpuMs: positive('cpu', values.cpu),
    windowSec: positive('window', values.window),
  };
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(0)} %`;
const named = (r: Row) => `${r.subject} ${r.metric} ${pct(r.change.ratio - 1)}`;

async function compare(s: Settings, base: ProofRun, candidate: ProofRun): Promise<Comparison> {
  return compareRuns(base.dir, candidate.dir, { threshold: THRESHOLD, alpha: 0.05, windowSec: s.windowSec });
}

/** A/A pairs: both runs of a pair on the testbed as it is; the alarms and what raised them. */
async function falseAlarms(world: ProofWorld, s: Settings) {
  let alarmed = 0;
  let lastRun: ProofRun | undefined;
  const homeP95s: number[] = [];
  for (let k = 0; k < s.pairs; k++) {
    const base = await world.run(`aa-${k}-base`, s.durationSec);
    const candidate = await world.run(`aa-${k}-candidate`, s.durationSec);
    const c = await compare(s, base, candidate);
    const home = c.rows.find((r) => r.subject === 'timelines/home' && r.metric === 'p95');
    if (home) homeP95s.push(home.change.base, home.change.candidate);
    if (c.regressions.length > 0) alarmed++;
    out(
      `A/A pair ${k + 1}: ${c.regressions.length === 0 ? 'no regression' : c.regressions.map(named).join(', ')} (${c.rows.length} rows)`,
    );
    lastRun = candidate;
  }
  return { alarmed, lastRun: lastRun!, homeP95s };
}

/** One candidate run with `faults` against a run just before it without; whether `row` regressed. */
async function injected(
  world: ProofWorld,
  s: Settings,
  name: string,
  faults: { delayMs: Record<string, number>; cpuMs: Record<string, number> },
  wanted: (r: Row) => boolean,
) {
  // Both runs follow a restart: a freshly started testbed is colder than one that has served a run.
  await world.restart(undefined);
  const base = await world.run(`${name}-base`, s.durationSec);
  await world.restart(faults);
  const candidate = await world.run(`${name}-candidate`, s.durationSec);
  const c = await compare(s, base, candidate);
  const found = c.regressions.filter(wanted);
  const others = c.regressions.filter((r) => !wanted(r));
  const rows = c.rows.filter(wanted);
  out(
    `${name}: ${found.length > 0 ? `found (${found.map(named).join(', ')})` : `not found (${rows.map(named).join(', ')})`}` +
      (others.length > 0 ? `; also regressed: ${others.map(named).join(', ')}` : ''),
  );
  // The verdict as `fedicap compare` prints it, up to its tables.
  for (const line of comparisonMarkdown(c).split('## Endpoint classes')[0]!.trim().split('\n'))
    out(`  ${line}`);
  return found.length > 0;
}

async function bench(s: Settings, dir: string): Promise<void> {
  const redisDb = await claimRedisDb();
  const dbName = `fedicap_bench_compare_${process.pid}`;
  const databaseUrl = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  const world = await ProofWorld.start({
    dir,
    databaseUrl,
    redisUrl: `${REDIS_URL}/${redisDb.index}`,
    log: out,
  });
  try {
    const before = measureReference();
    out(`reference: node -e 0 ${before.nodeStartMs.toFixed(0)} ms, load ${before.loadAverage1m.toFixed(2)}`);
    const aa = await falseAlarms(world, s);
    const detected: string[] = [];
    for (const ms of s.delaysMs) {
      const home = (r: Row) => r.subject === 'timelines/home' && r.section === 'endpoint class';
      if (await injected(world, s, `delay-${ms}ms`, { delayMs: { 'timelines/home': ms }, cpuMs: {} }, home))
        detected.push(`timelines/home +${ms} ms`);
    }
    const feed = (r: Row) => r.subject === 'FeedInsertWorker' && r.metric === 'CPU per job';
    if (
      await injected(
        world,
        s,
        `cpu-${s.cpuMs}ms`,
        { delayMs: {}, cpuMs: { FeedInsertWorker: s.cpuMs } },
        feed,
      )
    )
      detected.push(`FeedInsertWorker +${s.cpuMs} ms CPU`);
    const after = measureReference();
    const p95s = aa.homeP95s.sort((a, b) => a - b);
    out('');
    out(
      `runs of ${s.durationSec} s (mixed.ts, scale 1), ${s.windowSec} s windows, threshold ${THRESHOLD * 100} %`,
    );
    out(`false alarms: ${aa.alarmed} of ${s.pairs} A/A pairs (target ≤ 1 in 10)`);
    out(`detected: ${detected.length > 0 ? detected.join('; ') : 'none'}`);
    out(
      `beside: home timeline p95 of the A/A runs ${p95s[0]?.toFixed(1)}–${p95s[p95s.length - 1]?.toFixed(1)} ms; ` +
        `reference at the end: node -e 0 ${after.nodeStartMs.toFixed(0)} ms, load ${after.loadAverage1m.toFixed(2)}`,
    );
  } finally {
    await world.stop();
    await redisDb.release();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function main(): Promise<number> {
  let s: Settings;
  try {
    s = settingsOf(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:compare: ${(err as Error).message}\n`);
    return 2;
  }
  const unreachable = await preflight();
  if (unreachable) {
    process.stderr.write(`bench:compare: ${unreachable}\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-bench-compare-'));
  const deadline = setTimeout(() => {
    process.stderr.write('bench:compare: over its 2 h bound; stopping\n');
    process.exit(1);
  }, WHOLE_BENCH_DEADLINE_MS);
  try {
    await bench(s, dir);
    return 0;
  } finally {
    clearTimeout(deadline);
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();

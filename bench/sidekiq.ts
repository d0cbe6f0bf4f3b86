/**
 * Ground truth for the Sidekiq model from real Sidekiq (Debian's ruby-sidekiq
 * 6.4 on Ruby 3.1): `npm run bench:sidekiq [-- --quick] [-- --out FILE] [-- --from FILE]`.
 * Not a timed test. For each configuration of a grid (processes, `-c`, the
 * job's CPU share) it measures the drain throughput of a pre-filled queue and
 * the p95 queue latency under Poisson arrivals at 50 % and 70 % of that
 * throughput, and once the framework's CPU per job (Sidekiq's and Redis's)
 * over no-op jobs. A reference (node start, a fixed Ruby loop, the load
 * average) is measured before each configuration. Exit code 2 when Ruby or
 * Sidekiq is missing.
 *
 * Layout: sidekiq/job.rb the job and its recorder; pool.ts the processes;
 * jobs.ts Sidekiq's Redis layout; measure.ts the measurements; run.ts one
 * configuration; grid.ts the configurations; reference.ts, report.ts.
 */
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import { readJsonFile } from '../src/profile/load.js';
import { InputError } from '../src/shared/errors.js';
import { writeFileAtomic } from '../src/shared/files.js';
import { claimRedisDb, REDIS_URL } from '../test/support/isolation.js';
import { FULL_GRID, QUICK_GRID } from './sidekiq/grid.js';
import { missingSidekiq } from './sidekiq/pool.js';
import { measureReference } from './sidekiq/reference.js';
import { out, printTable, type Row, shortfalls } from './sidekiq/report.js';
import type { FrameworkCpu, QueueWaits } from './sidekiq/measure.js';
import {
  type Plan,
  type PlatformRuns,
  runConfiguration,
  runFrameworkCpu,
  runPlatform,
  running,
} from './sidekiq/run.js';

const FULL_PLAN: Plan = {
  drainSec: 5,
  latencySec: 8,
  latencyJobs: 1000,
  loadFractions: [0.5, 0.7],
  frameworkJobs: 5000,
  cores: 2,
};
const QUICK_PLAN: Plan = { ...FULL_PLAN, drainSec: 2, latencySec: 3, latencyJobs: 300, frameworkJobs: 2000 };

function fileFlag(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const file = argv[i + 1];
  if (!file) throw new InputError(`${flag} needs a file name`);
  return file;
}

function parseArgs(argv: readonly string[]) {
  return {
    quick: argv.includes('--quick'),
    outFile: fileFlag(argv, '--out'),
    fromFile: fileFlag(argv, '--from'),
  };
}

/** `--from FILE`: the table of a recorded run (its --out file) with today's model beside it; no Sidekiq is started. */
function reprint(file: string): number {
  const saved = readJsonFile(file, 'recorded run') as {
    plan: Plan;
    framework: FrameworkCpu;
    platform: PlatformRuns;
    pickup: QueueWaits;
    rows: Row[];
  };
  if (!saved.platform)
    throw new InputError(`${file}: no "platform" runs (recorded before they were measured)`);
  out(`bench:sidekiq measurements recorded in ${file} (${saved.plan.cores} cores)`);
  printTable(saved.rows, { ...saved, cores: saved.plan.cores });
  return verdict(saved.rows);
}

/** Exit code 1, naming each missing effect, when any configuration lost, failed or did not record jobs. */
function verdict(rows: readonly Row[]): number {
  const missing = shortfalls(rows);
  for (const line of missing) console.error(`bench:sidekiq: ${line}`);
  return missing.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const { quick, outFile, fromFile } = parseArgs(process.argv.slice(2));
  if (fromFile) return reprint(fromFile);
  const missing = missingSidekiq();
  if (missing) {
    console.error(`bench:sidekiq cannot run: ${missing}`);
    return 2;
  }
  const plan = { ...(quick ? QUICK_PLAN : FULL_PLAN), cores: availableParallelism() };
  const grid = quick ? QUICK_GRID : FULL_GRID;
  const claim = await claimRedisDb();
  const db = { url: `${REDIS_URL}/${claim.index}`, redis: new Redis(`${REDIS_URL}/${claim.index}`) };
  const stop = async () => {
    for (const pool of running) await pool.stop();
    db.redis.disconnect();
    await claim.release();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    out(`bench:sidekiq ${quick ? '--quick ' : ''}on ${plan.cores} cores, Redis DB ${claim.index}`);
    const { framework, pickup } = await runFrameworkCpu(plan, db);
    out(
      `framework CPU: Sidekiq ${framework.sidekiqCpuMsPerJob.toFixed(3)} ms/job, Redis ${framework.redisCpuMsPerJob.toFixed(3)} ms/job`,
    );
    const platform = await runPlatform(plan, framework.sidekiqCpuMsPerJob, db);
    const rows: Row[] = [];
    for (const c of grid) {
      const reference = measureReference();
      const measured = await runConfiguration(c, plan, framework.sidekiqCpuMsPerJob, db);
      rows.push({ measured, reference });
      out(
        `${c.name}: drain ${measured.drain.ratePerSec.toFixed(0)}/s, load ${reference.loadAverage1m.toFixed(2)}`,
      );
    }
    printTable(rows, { framework, pickup, platform, cores: plan.cores });
    const finalReference = measureReference();
    out(
      `reference at the end: node -e 0 ${finalReference.nodeStartMs.toFixed(0)} ms, Ruby loop ${finalReference.rubyLoopCpuMs.toFixed(0)} ms CPU, load ${finalReference.loadAverage1m.toFixed(2)}`,
    );
    if (outFile)
      writeFileAtomic(
        outFile,
        `${JSON.stringify({ plan, framework, platform, pickup, rows, finalReference }, null, 2)}\n`,
      );
    return verdict(rows);
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof InputError) {
      console.error(`bench:sidekiq: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);

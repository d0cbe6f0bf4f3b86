import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { SIDEKIQ_FRAMEWORK_CPU_SEC, SIDEKIQ_REDIS_CPU_SEC_PER_JOB } from '../mastodon/sidekiqCosts.js';
import { sidekiqQueueLatency } from '../model/sidekiqLatency.js';
import { type PoolBottleneck, sidekiqPoolCapacity, type SidekiqPoolShape } from '../model/sidekiqNetwork.js';
import { InputError } from '../shared/errors.js';
import { emit } from './output.js';

/** `fedicap queue sidekiq`: "more threads or more processes?" for one job mix on one host. */
export function sidekiqQueueCommand(y: Argv) {
  return y.command(
    'sidekiq',
    'Capacity and queue wait of Sidekiq processes on one host (threads, interpreter lock, shared cores, Redis)',
    (c) =>
      c
        .option('processes', { type: 'number', default: 1, describe: 'Sidekiq processes on the host' })
        .option('threads', { type: 'number', demandOption: true, describe: 'sidekiq -c (capped by DB_POOL)' })
        .option('cpu-ms', {
          type: 'number',
          demandOption: true,
          describe: "The job's own Ruby CPU per job, ms",
        })
        .option('wait-ms', {
          type: 'number',
          demandOption: true,
          describe: "The job's I/O wait per job (HTTP, sleeps), ms",
        })
        .option('db-ms', {
          type: 'number',
          default: 0,
          describe: 'PostgreSQL time per job, ms (waited, like I/O)',
        })
        .option('host-cores', { type: 'number', describe: "The host's cores (default: this machine's)" })
        .option('redis-elsewhere', {
          type: 'boolean',
          default: false,
          describe: 'Redis runs on another host',
        })
        .option('framework-cpu-ms', {
          type: 'number',
          describe: `Sidekiq's own Ruby CPU per job, ms (default: ${SIDEKIQ_FRAMEWORK_CPU_SEC * 1e3}, measured)`,
        })
        .option('time-scv', {
          type: 'number',
          default: 1,
          describe: "Variability of the job's CPU and wait times, c² (1 exponential, 0 fixed)",
        })
        .option('wakeup-ms', {
          type: 'number',
          default: 0,
          describe: 'Waking a thread after each wait (its fetch, its I/O), ms; bench:sidekiq measures a host',
        })
        .option('pickup-ms', {
          type: 'number',
          describe: 'Handing a job to an idle thread blocked in BRPOP, ms (default: --wakeup-ms)',
        })
        .option('handoff-ms', {
          type: 'number',
          default: 0,
          describe: 'Passing a contended lock when no core is free, ms; bench:sidekiq measures a host',
        })
        .option('arrival-rate', {
          type: 'number',
          describe: 'Jobs per second arriving: also answer the queue wait',
        })
        .option('format', { choices: ['text', 'json'] as const, default: 'text' as const }),
    (args) => {
      const shape = shapeOf(args);
      const rate = args['arrival-rate'];
      if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) {
        throw new InputError(`--arrival-rate must be a number >= 0, got ${rate}`);
      }
      const result = answer(shape, rate);
      if (args.format === 'json') emit(JSON.stringify(result, null, 2), undefined, 'queue.json');
      else emit(textOf(shape, result), undefined, 'queue.txt');
    },
  );
}

interface SidekiqFlags {
  processes: number;
  threads: number;
  'cpu-ms': number;
  'wait-ms': number;
  'db-ms': number;
  'host-cores'?: number | undefined;
  'redis-elsewhere': boolean;
  'framework-cpu-ms'?: number | undefined;
  'time-scv': number;
  'wakeup-ms': number;
  'handoff-ms': number;
  'pickup-ms'?: number | undefined;
}

function shapeOf(args: SidekiqFlags): SidekiqPoolShape {
  const count = (flag: string, v: number, max: number) => {
    if (!Number.isInteger(v) || v < 1 || v > max)
      throw new InputError(`--${flag} must be an integer from 1 to ${max}, got ${v}`);
    return v;
  };
  const ms = (flag: string, v: number | undefined, fallbackSec: number) => {
    if (v === undefined) return fallbackSec;
    if (!Number.isFinite(v) || v < 0)
      throw new InputError(`--${flag} must be a number of milliseconds >= 0, got ${v}`);
    return v / 1e3;
  };
  const scv = (v: number) => {
    if (!Number.isFinite(v) || v < 0 || v > 100)
      throw new InputError(`--time-scv must be a number from 0 (fixed times) to 100, got ${v}`);
    return v;
  };
  const shape: SidekiqPoolShape = {
    processes: count('processes', args.processes, 64),
    threads: count('threads', args.threads, 1000),
    jobCpuSec: ms('cpu-ms', args['cpu-ms'], 0),
    jobWaitSec: ms('wait-ms', args['wait-ms'], 0) + ms('db-ms', args['db-ms'], 0),
    frameworkCpuSec: ms('framework-cpu-ms', args['framework-cpu-ms'], SIDEKIQ_FRAMEWORK_CPU_SEC),
    hostCores: count('host-cores', args['host-cores'] ?? availableParallelism(), 1024),
    redisCpuSecPerJob: args['redis-elsewhere'] ? 0 : SIDEKIQ_REDIS_CPU_SEC_PER_JOB,
    timeScv: scv(args['time-scv']),
    wakeupSec: ms('wakeup-ms', args['wakeup-ms'], 0),
    handoffSec: ms('handoff-ms', args['handoff-ms'], 0),
    pickupSec: ms('pickup-ms', args['pickup-ms'], args['wakeup-ms'] / 1e3),
  };
  if (shape.jobCpuSec + shape.jobWaitSec + shape.frameworkCpuSec <= 0) {
    throw new InputError('--cpu-ms, --wait-ms and --framework-cpu-ms are all 0: a job must take some time');
  }
  return shape;
}

interface SidekiqAnswer {
  maxThroughputPerSec: number;
  bottleneck: PoolBottleneck;
  frameworkCpuMs: number;
  redisCpuMsPerJob: number;
  cpuStretch: number;
  utilization?: number;
  probabilityOfWait?: number;
  meanWaitSec?: number | null;
  p95WaitSec?: number | null;
  stable?: boolean;
}

function answer(shape: SidekiqPoolShape, arrivalRatePerSec: number | undefined): SidekiqAnswer {
  const pool = sidekiqPoolCapacity(shape);
  const result: SidekiqAnswer = {
    maxThroughputPerSec: pool.maxThroughputPerSec,
    bottleneck: pool.bottleneck,
    frameworkCpuMs: shape.frameworkCpuSec * 1e3,
    redisCpuMsPerJob: shape.redisCpuSecPerJob * 1e3,
    cpuStretch: pool.cpuStretch,
  };
  if (arrivalRatePerSec === undefined) return result;
  const latency = sidekiqQueueLatency(shape, pool, arrivalRatePerSec);
  const p95 = latency.percentileWaitSec(95);
  return {
    ...result,
    utilization: arrivalRatePerSec / pool.maxThroughputPerSec,
    probabilityOfWait: latency.probabilityOfWait,
    meanWaitSec: Number.isFinite(latency.meanWaitSec) ? latency.meanWaitSec : null,
    p95WaitSec: Number.isFinite(p95) ? p95 : null,
    stable: latency.stable,
  };
}

/** What binds, in Sidekiq's words. */
function bindingWords(shape: SidekiqPoolShape, bottleneck: PoolBottleneck): string {
  const processes = shape.processes === 1 ? 'the process' : `each of the ${shape.processes} processes`;
  switch (bottleneck) {
    case 'threads':
      return `threads: ${shape.processes} × -c ${shape.threads} are all busy, mostly waiting on I/O (more -c helps)`;
    case 'interpreter-lock':
      return `the interpreter lock of ${processes}: one job runs Ruby at a time (more processes help, more -c does not)`;
    case 'host-cores':
      return `the host's ${shape.hostCores} cores, shared by the processes${shape.redisCpuSecPerJob > 0 ? ' and Redis' : ''} (more cores help, more processes do not)`;
    case 'redis':
      return 'Redis, single-threaded: its CPU per fetch and acknowledgement (a faster Redis host helps)';
  }
}

function textOf(shape: SidekiqPoolShape, r: SidekiqAnswer): string {
  const lines = [
    `capacity             ${r.maxThroughputPerSec.toPrecision(4)} jobs/s`,
    `bottleneck           ${bindingWords(shape, r.bottleneck)}`,
    `framework CPU        ${r.frameworkCpuMs.toPrecision(3)} ms per job (Sidekiq's fetch, JSON, middleware, acknowledgement)`,
  ];
  if (r.utilization === undefined) return lines.join('\n');
  const wait = (v: number | null | undefined) =>
    v === null || v === undefined ? 'unbounded' : `${(v * 1e3).toPrecision(4)} ms`;
  lines.push(
    `utilization          ${(r.utilization * 100).toFixed(1)} %${r.stable ? '' : '  (overloaded: arrivals exceed capacity, the queue grows without bound)'}`,
    `probability of wait  ${((r.probabilityOfWait ?? 1) * 100).toFixed(1)} %`,
    `mean wait            ${wait(r.meanWaitSec)}`,
    `p95 wait             ${wait(r.p95WaitSec)}`,
  );
  return lines.join('\n');
}

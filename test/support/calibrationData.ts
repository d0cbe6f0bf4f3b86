import type { Sample } from '../../src/collect/sample.js';
import { exponential, type Rng, seededRng, standardNormal } from '../../src/shared/random.js';

/**
 * Synthetic collector samples generated from a known truth, for the calibration tests: Poisson job
 * completions per class at each load step, the Sidekiq processes' CPU from the classes' CPU per job,
 * Sidekiq's framework CPU and an idle term (with per-job variation), the exporter's duration sums,
 * Redis's CPU, all as the collector writes them (cumulative counters, one answer per interval).
 */
export interface JobTruth {
  cpuSec: number;
  wallSec: number;
  queue?: string;
}

export interface SyntheticRun {
  seed: number;
  /** Per step: how long it lasts and each class's completions per second. */
  steps: { durationSec: number; ratesPerSec: Record<string, number> }[];
  jobs: Record<string, JobTruth>;
  frameworkCpuSec: number;
  /** Summed over the processes. */
  idleCpuSecPerSec: number;
  processes?: string[];
  /** Coefficient of variation of a single job's CPU and wall time (default 0.5). */
  jobCv?: number;
  /** Standard deviation of other CPU noise per second of the processes (default 0): sampling, GC, timers. */
  cpuNoiseSdPerSec?: number;
  redis?: { cpuSecPerJob: number; idleCpuSecPerSec: number };
  intervalSec?: number;
  /** Prefix of the exporter's names (`ruby_` for the standalone exporter). */
  prefix?: string;
  /** Seconds from the start during which the process source fails (gap records, no samples). */
  processGapsSec?: [number, number][];
  startMs?: number;
}

/** A Poisson count with the given mean (counting exponential arrivals; means here stay small). */
export function poisson(rng: Rng, mean: number): number {
  let n = 0;
  for (let t = exponential(rng, 1); t < mean; t += exponential(rng, 1)) n++;
  return n;
}

/** Sum of n independent job times with the given mean and coefficient of variation (normal approximation). */
function sumOfJobs(rng: Rng, n: number, mean: number, cv: number): number {
  if (n === 0) return 0;
  return Math.max(0, n * mean + Math.sqrt(n) * mean * cv * standardNormal(rng));
}

export function syntheticSamples(run: SyntheticRun): Sample[] {
  const rng = seededRng(run.seed);
  const interval = run.intervalSec ?? 1;
  const processes = run.processes ?? ['sidekiq-0', 'sidekiq-1'];
  const cv = run.jobCv ?? 0.5;
  const prefix = run.prefix ?? '';
  const start = run.startMs ?? Date.parse('2026-12-01T10:00:00Z');
  const totals = new Map<string, number>();
  const add = (key: string, v: number) => totals.set(key, (totals.get(key) ?? 0) + v);
  const out: Sample[] = [];
  let t = 0;
  for (const step of run.steps) {
    for (let s = 0; s < step.durationSec; s += interval, t += interval) {
      let cpu = run.idleCpuSecPerSec * interval;
      let jobs = 0;
      for (const [name, truth] of Object.entries(run.jobs)) {
        const n = poisson(rng, (step.ratesPerSec[name] ?? 0) * interval);
        jobs += n;
        add(`jobs:${name}`, n);
        add(`wall:${name}`, sumOfJobs(rng, n, truth.wallSec, cv));
        cpu += sumOfJobs(rng, n, truth.cpuSec, cv) + n * run.frameworkCpuSec;
      }
      cpu = Math.max(0, cpu + (run.cpuNoiseSdPerSec ?? 0) * Math.sqrt(interval) * standardNormal(rng));
      for (const p of processes) add(`cpu:${p}`, cpu / processes.length);
      if (run.redis)
        add(
          'redis',
          run.redis.idleCpuSecPerSec * interval + sumOfJobs(rng, jobs, run.redis.cpuSecPerJob, cv),
        );
      const time = new Date(start + (t + interval) * 1000).toISOString();
      const inGap = (run.processGapsSec ?? []).some(([a, b]) => t + interval >= a && t + interval < b);
      out.push(...tick(run, time, totals, { processes, prefix, inGap }));
    }
  }
  return out;
}

function tick(
  run: SyntheticRun,
  time: string,
  totals: Map<string, number>,
  o: { processes: string[]; prefix: string; inGap: boolean },
): Sample[] {
  const out: Sample[] = [];
  const get = (key: string) => totals.get(key) ?? 0;
  for (const [name, truth] of Object.entries(run.jobs)) {
    if (get(`jobs:${name}`) === 0) continue; // the exporter creates a label set at its first job
    const labels = { job_name: name };
    out.push(
      sample(time, `${o.prefix}sidekiq_jobs_total`, get(`jobs:${name}`), {
        ...labels,
        queue: truth.queue ?? 'default',
      }),
      sample(time, `${o.prefix}sidekiq_job_duration_seconds_sum`, get(`wall:${name}`), labels),
      sample(time, `${o.prefix}sidekiq_job_duration_seconds_count`, get(`jobs:${name}`), labels),
    );
  }
  if (o.inGap) {
    out.push({
      time,
      source: 'collector',
      metric: 'source_up',
      value: 0,
      labels: { of: 'process', error: 'ESRCH' },
    });
  } else {
    for (const p of o.processes)
      out.push({
        time,
        source: 'process',
        metric: 'process_cpu_seconds_total',
        value: get(`cpu:${p}`),
        labels: { process: p },
      });
  }
  if (run.redis) {
    const redis = get('redis');
    out.push(
      { time, source: 'redis', metric: 'redis_cpu_user_seconds_total', value: redis * 0.7, labels: {} },
      { time, source: 'redis', metric: 'redis_cpu_sys_seconds_total', value: redis * 0.3, labels: {} },
    );
  }
  return out;
}

function sample(time: string, metric: string, value: number, labels: Record<string, string>): Sample {
  return { time, source: 'prometheus', metric, value, labels };
}

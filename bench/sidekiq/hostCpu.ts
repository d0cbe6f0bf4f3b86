/**
 * Whose CPU the host's cores went to during a measurement: the machine may
 * be shared, so a pool bound by the host's cores is judged against the cores
 * that were left to it. Busy time from /proc/stat (all but idle and iowait),
 * the pool's from /proc/<pid>/stat, Redis's from INFO cpu, this benchmark's
 * own from process.cpuUsage().
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { CLOCK_TICKS_PER_SEC, processCpuMs } from './pool.js';

export interface CpuSample {
  atMs: number;
  hostBusyMs: number;
  poolMs: number;
  redisMs: number;
  benchMs: number;
}

/** Average cores in use over a window, by whom. */
export interface CoresUsed {
  host: number;
  pool: number;
  redis: number;
  bench: number;
  /** Everything else on the machine: other users of a shared host. */
  others: number;
}

function hostBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const busy = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
  return (busy * 1000) / CLOCK_TICKS_PER_SEC;
}

export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1]);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

export async function sampleCpu(redis: Redis, pids: readonly number[]): Promise<CpuSample> {
  const usage = process.cpuUsage();
  return {
    atMs: Date.now(),
    hostBusyMs: hostBusyMs(),
    poolMs: pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
    redisMs: await redisCpuMs(redis),
    benchMs: (usage.user + usage.system) / 1000,
  };
}

export function coresUsed(a: CpuSample, b: CpuSample): CoresUsed {
  const wallMs = b.atMs - a.atMs;
  const host = (b.hostBusyMs - a.hostBusyMs) / wallMs;
  const pool = (b.poolMs - a.poolMs) / wallMs;
  const redis = (b.redisMs - a.redisMs) / wallMs;
  const bench = (b.benchMs - a.benchMs) / wallMs;
  return { host, pool, redis, bench, others: Math.max(0, host - pool - redis - bench) };
}

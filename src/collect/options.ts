import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoText, InputError } from '../shared/errors.js';
import { HostCpuSampler } from './hostCpu.js';
import { ProcessCpuSampler } from './processCpu.js';
import type { Sampler } from './sampler.js';
import { SidekiqRedisSampler } from './sidekiqRedis.js';
import { checkedUrl, remoteSamplers } from './sources.js';
import { StorageSampler } from './storage.js';

/** What to observe, as the flags of `fedicap collect` give it. */
export interface CollectSources {
  /** `--sidekiq-redis`: Sidekiq's Redis (SIDEKIQ_REDIS_URL, else REDIS_URL). */
  sidekiqRedis?: string;
  /** `--database-url`: PostgreSQL. */
  databaseUrl?: string;
  /** `--redis-url`: Redis INFO (the cache or the queues' server). */
  redisUrl?: string;
  /** `--prometheus`: text endpoints (Mastodon's exporter, node_exporter, cAdvisor). */
  prometheus?: string[];
  /** `--process NAME=PID`: local processes. */
  processes?: string[];
  /** `--media-dir`: Mastodon's public/system when media are stored on disk. */
  mediaDir?: string;
  /** `--host-cpu`: this host's CPU by mode (/proc/stat), when the instance runs here. */
  hostCpu?: boolean;
}

/** `NAME=PID` of a running process, each NAME once. */
export function parseProcessFlag(value: string): { name: string; pid: number } {
  const m = /^([A-Za-z0-9_.-]+)=(\d+)$/.exec(value);
  if (!m) throw new InputError(`--process ${value}: expected NAME=PID, e.g. --process sidekiq=4242`);
  const pid = Number(m[2]);
  if (!existsSync(`/proc/${pid}/stat`))
    throw new InputError(`--process ${value}: no process with pid ${pid} (is /proc mounted? Linux only)`);
  return { name: m[1]!, pid };
}

function checkMediaDir(dir: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new InputError(`--media-dir ${dir}: ${errnoText(err)}`);
  }
  if (!isDir) throw new InputError(`--media-dir ${dir}: not a directory`);
  return resolve(dir);
}

/** `--out FILE`: its directory exists and is writable, and FILE is not a directory. */
export function checkOut(out: string, flag = '--out'): string {
  const dir = dirname(resolve(out));
  if (!existsSync(dir)) throw new InputError(`${flag} ${out}: directory ${dir} does not exist`);
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`${flag} ${out}: ${dir} is not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${flag} ${out}: directory ${dir} is not writable (${errnoText(err)})`);
  }
  if (existsSync(out) && statSync(out).isDirectory())
    throw new InputError(`${flag} ${out}: is a directory; give the samples file's name`);
  return out;
}

/** Whether any source is named: what `fedicap run` reads as "collect", and `fedicap collect` requires. */
export function namesASource(s: CollectSources): boolean {
  return Boolean(
    s.sidekiqRedis ||
      s.databaseUrl ||
      s.redisUrl ||
      s.prometheus?.length ||
      s.processes?.length ||
      s.mediaDir ||
      s.hostCpu,
  );
}

/**
 * Check the local sources' flags and that there is at least one source; the first bad one throws an
 * InputError naming it. The remote sources' URLs are checked where their samplers are built
 * (remoteSamplers, src/collect/sources.ts), also before anything connects. Nothing is opened.
 */
export function checkSources(sources: CollectSources): Required<Omit<CollectSources, 'processes'>> & {
  processes: { name: string; pid: number }[];
} {
  const processes = (sources.processes ?? []).map(parseProcessFlag);
  const names = processes.map((p) => p.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new InputError(`--process ${twice}=…: the name ${twice} is given twice`);
  const checked = {
    sidekiqRedis:
      sources.sidekiqRedis === undefined ? '' : checkedUrl('--sidekiq-redis', sources.sidekiqRedis),
    databaseUrl: sources.databaseUrl ?? '',
    redisUrl: sources.redisUrl ?? '',
    prometheus: sources.prometheus ?? [],
    mediaDir: sources.mediaDir === undefined ? '' : checkMediaDir(sources.mediaDir),
    hostCpu: sources.hostCpu ?? false,
    processes,
  };
  if (!namesASource(sources))
    throw new InputError(
      'give at least one source: --sidekiq-redis, --database-url, --redis-url, --prometheus, --process, --host-cpu or --media-dir',
    );
  return checked;
}

/** The samplers for checked sources (connections open lazily, at the first sample); remote URLs checked here. */
export function buildSamplers(checked: ReturnType<typeof checkSources>): Sampler[] {
  const samplers: Sampler[] = [];
  if (checked.sidekiqRedis) samplers.push(new SidekiqRedisSampler(checked.sidekiqRedis));
  samplers.push(
    ...remoteSamplers({
      databaseUrl: checked.databaseUrl || undefined,
      redisUrl: checked.redisUrl || undefined,
      prometheus: checked.prometheus,
    }),
  );
  for (const p of checked.processes) samplers.push(new ProcessCpuSampler(p.name, p.pid));
  if (checked.mediaDir) samplers.push(new StorageSampler(checked.mediaDir));
  if (checked.hostCpu) samplers.push(new HostCpuSampler());
  return samplers;
}

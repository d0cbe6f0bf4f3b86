import type { Redis } from 'ioredis';

/**
 * Sidekiq's state in Redis, the read side: the keys and the numbers
 * Sidekiq's own Ruby API (lib/sidekiq/api.rb: Stats, Queue, ProcessSet,
 * RetrySet, ScheduledSet, DeadSet, Workers) derives from them. One home for
 * the testbed (which writes this layout, world/testbed/sidekiq), the tests
 * and the collector (which reads a live Mastodon's Redis). Read as in
 * Sidekiq 6.4.1, the version Debian ships as ruby-sidekiq; where Sidekiq 7
 * or 8 (what Mastodon 4.x runs) differs, the note says so.
 */

/** Set of queue names; `queue:NAME` lists hold job JSON, LPUSHed (newest left, oldest right). */
export const QUEUES_KEY = 'queues';
export const queueKey = (name: string) => `queue:${name}`;
/** Sorted sets scored by epoch seconds (float). */
export const SCHEDULE_KEY = 'schedule';
export const RETRY_KEY = 'retry';
export const DEAD_KEY = 'dead';
/** Set of process identities; each has a hash under its identity. */
export const PROCESSES_KEY = 'processes';
/**
 * In-flight jobs of a process, tid → JSON {queue, payload, run_at}: `:workers` in Sidekiq 6, `:work` in
 * Sidekiq 7.
 */
export const workersKey = (identity: string) => `${identity}:workers`;
export const workKey7 = (identity: string) => `${identity}:work`;

/** A job exactly as Sidekiq stores it in `queue:NAME` (JSON). */
export interface SidekiqJob {
  class: string;
  args: unknown[];
  queue: string;
  jid: string;
  retry: boolean | number;
  created_at: number;
  enqueued_at?: number;
  retry_count?: number;
  error_message?: string;
  error_class?: string;
  failed_at?: number;
  retried_at?: number;
  /** sidekiq_options dead: false — when retries run out the job is dropped instead of going to `dead`. */
  dead?: boolean;
}

/**
 * A Sidekiq process as Sidekiq::ProcessSet yields it: its `info` JSON merged with the hash's other fields.
 */
export interface SidekiqProcessInfo {
  identity: string;
  hostname: string;
  pid: number;
  tag: string;
  /** Seconds since the epoch. */
  startedAt: number;
  concurrency: number;
  /** Queue names, each once, in declared order. */
  queues: string[];
  labels: string[];
  /** Jobs in flight at the last heartbeat. */
  busy: number;
  /** Last heartbeat, seconds since the epoch. */
  beat: number;
  /** Sidekiq::Process#stopping?: the hash's `quiet` is the string "true". */
  quiet: boolean;
  rssKb: number;
  rttUs: number;
}

/** An entry of `retry`, `schedule` or `dead`: the job and its score (seconds since the epoch). */
export interface SortedEntry {
  scoreSec: number;
  job: SidekiqJob;
}

/** One in-flight job as Sidekiq::WorkSet yields it. */
export interface WorkEntry {
  identity: string;
  tid: string;
  queue: string;
  /** Seconds since the epoch, an integer as Sidekiq writes it. */
  runAt: number;
  payload: SidekiqJob;
}

/** What Sidekiq::Stats reports, plus the per-queue view. */
export interface SidekiqSnapshot {
  processed: number;
  failed: number;
  enqueued: number;
  scheduledSize: number;
  retrySize: number;
  deadSize: number;
  processesSize: number;
  /** Sum of `busy` over the live processes (Stats#workers_size). */
  workersSize: number;
  queues: { name: string; size: number; latencySec: number }[];
  processes: SidekiqProcessInfo[];
}

function parseJob(s: string): SidekiqJob | undefined {
  try {
    return JSON.parse(s) as SidekiqJob;
  } catch {
    return undefined;
  }
}

/**
 * Sidekiq 8 stores job timestamps as integer epoch milliseconds, earlier
 * versions as float epoch seconds (Sidekiq 8.0 Changes.md); Queue#latency
 * reads both. No seconds value reaches 1e11 before the year 5138.
 */
const epochSec = (t: number) => (t > 1e11 ? t / 1000 : t);

const toInt = (v: string | null | undefined) => (v ? Number.parseInt(v, 10) || 0 : 0);

/**
 * The read side of Sidekiq's layout, mirroring Sidekiq's Ruby API
 * (lib/sidekiq/api.rb) key for key, so that the testbed, the tests and the
 * collector read a live Mastodon's Redis and the testbed's the same way.
 * Read-only: unlike `Sidekiq::ProcessSet.new` it does not prune dead
 * processes from `processes` unless asked to.
 */
export class SidekiqStats {
  constructor(
    private readonly redis: Redis,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Stats#processed: `stat:processed` (every job that ran to an end, failed ones included). */
  async processed(): Promise<number> {
    return toInt(await this.redis.get('stat:processed'));
  }

  /** Stats#failed. */
  async failed(): Promise<number> {
    return toInt(await this.redis.get('stat:failed'));
  }

  /** Stats::History for one UTC day (YYYY-MM-DD). */
  async processedOn(date: string): Promise<number> {
    return toInt(await this.redis.get(`stat:processed:${date}`));
  }

  async failedOn(date: string): Promise<number> {
    return toInt(await this.redis.get(`stat:failed:${date}`));
  }

  /** Names in the `queues` set, sorted (Sidekiq::Queue.all). */
  async queueNames(): Promise<string[]> {
    return (await this.redis.smembers(QUEUES_KEY)).sort();
  }

  /** Stats::Queues#lengths: name → LLEN, largest first. */
  async queueSizes(): Promise<Record<string, number>> {
    const names = await this.queueNames();
    if (names.length === 0) return {};
    const pipe = this.redis.pipeline();
    for (const n of names) pipe.llen(queueKey(n));
    const res = (await pipe.exec()) ?? [];
    const pairs = names.map((n, i) => [n, Number(res[i]?.[1] ?? 0)] as const);
    pairs.sort((a, b) => b[1] - a[1]);
    return Object.fromEntries(pairs);
  }

  /** Queue#size. */
  async queueSize(queue: string): Promise<number> {
    return this.redis.llen(queueKey(queue));
  }

  /** Queue#latency: now − enqueued_at of the oldest job (the list's right end); 0 when empty. */
  async queueLatencySec(queue: string): Promise<number> {
    const [entry] = await this.redis.lrange(queueKey(queue), -1, -1);
    return this.latencyOf(entry);
  }

  private latencyOf(entry: string | undefined): number {
    if (entry === undefined) return 0;
    const job = parseJob(entry);
    const now = this.nowMs() / 1000;
    const thence = typeof job?.enqueued_at === 'number' ? epochSec(job.enqueued_at) : now;
    return now - thence;
  }

  /** Stats#enqueued: sum of the sizes of the queues in `queues`. */
  async enqueued(): Promise<number> {
    return Object.values(await this.queueSizes()).reduce((a, b) => a + b, 0);
  }

  async retrySize(): Promise<number> {
    return this.redis.zcard(RETRY_KEY);
  }

  async scheduledSize(): Promise<number> {
    return this.redis.zcard(SCHEDULE_KEY);
  }

  async deadSize(): Promise<number> {
    return this.redis.zcard(DEAD_KEY);
  }

  /** RetrySet / ScheduledSet / DeadSet entries, lowest score first. */
  async sortedEntries(set: 'retry' | 'schedule' | 'dead', limit = 1000): Promise<SortedEntry[]> {
    const flat = await this.redis.zrange(set, 0, limit - 1, 'WITHSCORES');
    const out: SortedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const job = parseJob(flat[i]!);
      if (job) out.push({ job, scoreSec: Number(flat[i + 1]) });
    }
    return out;
  }

  retries(limit?: number) {
    return this.sortedEntries('retry', limit);
  }

  scheduled(limit?: number) {
    return this.sortedEntries('schedule', limit);
  }

  dead(limit?: number) {
    return this.sortedEntries('dead', limit);
  }

  /**
   * ProcessSet#each: every identity in `processes` whose hash still has `info`
   * (a hash expires 60 s after its last heartbeat), sorted by identity. With
   * `prune`, identities without a hash are removed from the set, as
   * ProcessSet#cleanup does (a write).
   */
  async processes(opts: { prune?: boolean } = {}): Promise<SidekiqProcessInfo[]> {
    const ids = (await this.redis.smembers(PROCESSES_KEY)).sort();
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(id, 'info', 'busy', 'beat', 'quiet', 'rss', 'rtt_us');
    const res = (await pipe.exec()) ?? [];
    const out: SidekiqProcessInfo[] = [];
    const dead: string[] = [];
    ids.forEach((id, i) => {
      const [info, busy, beat, quiet, rss, rtt] = (res[i]?.[1] as (string | null)[] | undefined) ?? [];
      if (!info) {
        dead.push(id);
        return;
      }
      let h: Record<string, unknown>;
      try {
        h = JSON.parse(info) as Record<string, unknown>;
      } catch {
        return;
      }
      out.push({
        identity: typeof h.identity === 'string' ? h.identity : id,
        hostname: String(h.hostname ?? ''),
        pid: Number(h.pid ?? 0),
        tag: String(h.tag ?? ''),
        startedAt: Number(h.started_at ?? 0),
        concurrency: Number(h.concurrency ?? 0),
        queues: Array.isArray(h.queues) ? h.queues.map(String) : [],
        labels: Array.isArray(h.labels) ? h.labels.map(String) : [],
        busy: toInt(busy),
        beat: beat ? Number(beat) : 0,
        quiet: quiet === 'true',
        rssKb: toInt(rss),
        rttUs: toInt(rtt),
      });
    });
    if (opts.prune && dead.length > 0) await this.redis.srem(PROCESSES_KEY, ...dead);
    return out;
  }

  /** ProcessSet#size: SCARD, which may still count processes that died (see `processes`). */
  async processesSize(): Promise<number> {
    return this.redis.scard(PROCESSES_KEY);
  }

  /**
   * WorkSet#each: in-flight jobs of the live processes, oldest first. Reads
   * Sidekiq 6's `IDENTITY:workers` hash, falling back to Sidekiq 7's `IDENTITY:work`.
   */
  async work(): Promise<WorkEntry[]> {
    const ids = (await this.redis.smembers(PROCESSES_KEY)).sort();
    const out: WorkEntry[] = [];
    for (const id of ids) {
      if (!(await this.redis.exists(id))) continue;
      let hash = await this.redis.hgetall(workersKey(id));
      if (Object.keys(hash).length === 0) hash = await this.redis.hgetall(workKey7(id));
      for (const [tid, json] of Object.entries(hash)) {
        try {
          const w = JSON.parse(json) as { queue: string; run_at: number; payload: string | SidekiqJob };
          const payload = typeof w.payload === 'string' ? (JSON.parse(w.payload) as SidekiqJob) : w.payload;
          out.push({ identity: id, tid, queue: w.queue, runAt: w.run_at, payload });
        } catch {
          // a malformed entry is skipped, as a reader of live data must
        }
      }
    }
    return out.sort((a, b) => a.runAt - b.runAt);
  }

  /** Stats and queues in one go (for a scrape or a collector sample). */
  async snapshot(): Promise<SidekiqSnapshot> {
    const names = await this.queueNames();
    const pipe = this.redis
      .pipeline()
      .get('stat:processed')
      .get('stat:failed')
      .zcard(SCHEDULE_KEY)
      .zcard(RETRY_KEY)
      .zcard(DEAD_KEY)
      .scard(PROCESSES_KEY);
    for (const n of names) pipe.llen(queueKey(n)).lrange(queueKey(n), -1, -1);
    const res = (await pipe.exec()) ?? [];
    const v = (i: number) => res[i]?.[1];
    const queues = names.map((name, i) => {
      const size = Number(v(6 + 2 * i) ?? 0);
      const [entry] = (v(7 + 2 * i) as string[] | undefined) ?? [];
      return { name, size, latencySec: this.latencyOf(entry) };
    });
    const processes = await this.processes();
    return {
      processed: toInt(v(0) as string | null),
      failed: toInt(v(1) as string | null),
      scheduledSize: Number(v(2) ?? 0),
      retrySize: Number(v(3) ?? 0),
      deadSize: Number(v(4) ?? 0),
      processesSize: Number(v(5) ?? 0),
      enqueued: queues.reduce((a, q) => a + q.size, 0),
      workersSize: processes.reduce((a, p) => a + p.busy, 0),
      queues,
      processes,
    };
  }
}

/**
 * The testbed's Sidekiq: processes × threads that fetch, run and retry jobs
 * in Sidekiq 6.4's Redis layout (see layout.ts), so that Sidekiq's own Ruby
 * API, its Web UI and the collector read the testbed as they read Mastodon.
 * The testbed runs each Sidekiq process in an OS process of its own
 * (processes/sidekiq.ts): one Node event loop whose JavaScript runs one job
 * at a time while its threads' I/O overlaps, as a Ruby process under its
 * interpreter lock. The engine's tests run several in one.
 *
 * FETCH SEMANTICS — Sidekiq's BasicFetch, with its graceful shutdown:
 * - every "thread" BRPOPs the process's queues in a weighted random order
 *   drawn per fetch; the job then exists only in this Node process;
 * - stop() stops fetching, waits for in-flight jobs up to the shutdown
 *   timeout, then pushes the unfinished ones back (RPUSH: the head of their
 *   queue, to run next) as Sidekiq's Manager#hard_shutdown → bulk_requeue does,
 *   and ignores their late outcome: nothing is lost on a restart (a job may
 *   run twice — Sidekiq's at-least-once);
 * - a crash (kill -9, OOM, power loss; `crash()` simulates it) loses the jobs
 *   in flight, exactly as BasicFetch does: there is no private in-flight list
 *   to recover on start-up (that is Sidekiq Pro's reliable fetch). The dead
 *   process stays in `processes` until its hash expires (60 s) and a reader
 *   prunes it, as Sidekiq::ProcessSet does.
 */
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { FinishedJob, JobFailure } from './instruments.js';
import {
  PROCESS_TTL_SEC,
  PROCESSES_KEY,
  RETRY_KEY,
  STATS_TTL_SEC,
  expandQueues,
  fetchOrder,
  queueKey,
  signalsKey,
  utcDate,
  workersKey,
  workKey7,
} from './layout.js';
import {
  type FailureOutcome,
  UnknownJobClassError,
  addKill,
  describeError,
  killJob,
  planFailure,
} from './retry.js';
import { Poller } from './scheduler.js';
import type { RedisFactory, SidekiqJob, SidekiqUnitConfig, WorkerClass, WorkerRegistry } from './types.js';

export interface SidekiqEngineOptions {
  newRedis: RedisFactory;
  units: SidekiqUnitConfig[];
  workers: WorkerRegistry;
  /**
   * Each job's end, for the per-job metrics (instruments.ts `recordJob`): the testbed's Sidekiq processes
   * send it to the exporter, as the prometheus_exporter middleware does.
   */
  onJobEnd: (job: FinishedJob) => void;
  /** Heartbeat period (Sidekiq: 5 s). */
  beatIntervalMs?: number;
  /** Average period of the retry/schedule poller, ±50 % (Sidekiq: 5 s per process; here 1 s). */
  pollIntervalMs?: number;
  /** BRPOP timeout: how long stop() may wait for an idle thread (Sidekiq: 2 s; here 1 s). */
  fetchTimeoutSec?: number;
  /** How long stop() lets in-flight jobs finish before pushing them back (Sidekiq's `-t`: 25 s; here 8 s). */
  shutdownTimeoutMs?: number;
  /** Jitter of the default retry delay (Sidekiq: rand(10) × (count + 1) s); tests pin it. */
  retryJitterSec?: (count: number) => number;
  /** Random source of the weighted fetch order. */
  random?: () => number;
  /** The process `tag` in Sidekiq's info (Sidekiq: the app directory's name). */
  tag?: string;
  /** Start the retry/schedule poller (default true). */
  poller?: boolean;
  /** Infrastructure trouble (Redis down, a requeue that failed). Job errors go to the retry set, not here. */
  log?: (message: string) => void;
}

export interface SidekiqHandle {
  /** Graceful shutdown: see the file's comment. Idempotent. */
  stop(): Promise<void>;
  /** Simulate kill -9: drop connections now, no requeue, no heartbeat cleanup. In-flight jobs are lost. */
  crash(): Promise<void>;
  /** The processes' identities (`hostname:pid:nonce`), as in the `processes` set. */
  readonly identities: readonly string[];
}

/** The timings startSidekiq uses unless told otherwise. */
export const ENGINE_DEFAULTS = {
  beatIntervalMs: 5_000,
  pollIntervalMs: 1_000,
  fetchTimeoutSec: 1,
  shutdownTimeoutMs: 8_000,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry a Redis write a few times with backoff; give up after `attempts`. */
async function persist<T>(attempts: number, fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(100 * 2 ** i);
    }
  }
  throw last;
}

/** What the error log says of a failed job: its jid, the error, where it went, its arguments (cut). */
function failureOf(jobstr: string, error: unknown, outcome: FailureOutcome): JobFailure {
  const job = JSON.parse(jobstr) as SidekiqJob;
  const after = outcome.kind === 'dropped' ? undefined : (JSON.parse(outcome.payload) as SidekiqJob);
  return {
    jid: typeof job.jid === 'string' ? job.jid : null,
    ...describeError(error),
    retryCount: typeof after?.retry_count === 'number' ? after.retry_count : null,
    next: outcome.kind,
    ...(outcome.kind === 'retry' ? { retryAtSec: outcome.atSec } : {}),
    args: JSON.stringify(job.args ?? []).slice(0, 300),
  };
}

/**
 * A connection the engine owns. Connection errors surface as failed commands,
 * which the loops log once per outage and back off from; without a listener
 * ioredis would also print every reconnection attempt.
 */
function ownConnection(newRedis: RedisFactory): Redis {
  const r = newRedis();
  r.on('error', () => undefined);
  return r;
}

interface InFlight {
  jobstr: string;
  key: string;
  className: string;
  queue: string;
  startedMs: number;
  /** now − enqueued_at at the start, as Sidekiq's middleware would see it; null when the job has none. */
  queueWaitSec: number | null;
  /** perform() has returned or thrown; the outcome is being recorded. */
  settled: boolean;
  /** Pushed back at shutdown or lost in a crash: its outcome must not be recorded. */
  abandoned: boolean;
  abort: AbortController;
}

interface Slot {
  tid: string;
  conn: Redis;
  job?: InFlight;
  loop?: Promise<void>;
}

/** One Sidekiq process: a launcher (heartbeat), a manager and `threads` processors. */
class SidekiqProcess {
  readonly identity: string;
  private readonly hostname = osHostname();
  private readonly startedAt = Date.now() / 1000;
  private readonly control: Redis;
  private readonly slots: Slot[] = [];
  private readonly expanded: { list: string[]; strict: boolean };
  private readonly info: string;
  /** tid → the JSON Sidekiq keeps in `IDENTITY:workers`. */
  private readonly state = new Map<string, string>();
  private done = false;
  private quiet = false;
  private finished = false;
  /** Fetching / heartbeats are failing: logged once per outage, as Processor#handle_fetch_exception does. */
  private down = false;
  private beatDown = false;
  private beatTimer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(
    unit: SidekiqUnitConfig,
    private readonly opts: Required<Pick<SidekiqEngineOptions, 'beatIntervalMs' | 'fetchTimeoutSec'>> &
      SidekiqEngineOptions,
  ) {
    this.identity = `${this.hostname}:${process.pid}:${randomBytes(6).toString('hex')}`;
    this.expanded = expandQueues(unit.queues);
    const names = [...new Set(this.expanded.list)];
    this.info = JSON.stringify({
      hostname: this.hostname,
      started_at: this.startedAt,
      pid: process.pid,
      tag: opts.tag ?? 'fedicap-testbed',
      concurrency: unit.threads,
      queues: names,
      labels: [],
      identity: this.identity,
      // Sidekiq 7's addition (one hash per capsule); Sidekiq 6 ignores it.
      weights: [Object.fromEntries(unit.queues.map((q) => [q.name, Math.trunc(q.weight) || 0]))],
    });
    this.control = ownConnection(opts.newRedis);
    for (let i = 0; i < unit.threads; i++) {
      this.slots.push({
        tid: `${randomBytes(5).readUIntBE(0, 5).toString(36)}${i.toString(36)}`,
        conn: ownConnection(opts.newRedis),
      });
    }
  }

  private log(message: string) {
    (this.opts.log ?? ((m: string) => console.warn(m)))(`sidekiq ${this.identity}: ${message}`);
  }

  /** A sleep that stop() and crash() cut short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private wakeAll() {
    for (const w of [...this.wakers]) w();
  }

  async start(): Promise<void> {
    await this.heartbeat();
    this.scheduleBeat();
    for (const slot of this.slots) slot.loop = this.run(slot);
  }

  // ---- heartbeat (Launcher#❤) ---------------------------------------------

  private scheduleBeat() {
    if (this.finished) return;
    this.beatTimer = setTimeout(() => {
      this.beating = this.heartbeat().finally(() => {
        this.beating = undefined;
        if (!this.finished) this.scheduleBeat();
      });
    }, this.opts.beatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    try {
      const work = this.control.multi().unlink(workersKey(this.identity)).unlink(workKey7(this.identity));
      if (this.state.size > 0) {
        const entries = Object.fromEntries(this.state);
        work
          .hset(workersKey(this.identity), entries)
          .expire(workersKey(this.identity), PROCESS_TTL_SEC)
          .hset(workKey7(this.identity), entries)
          .expire(workKey7(this.identity), PROCESS_TTL_SEC);
      }
      await work.exec();
      const t0 = process.hrtime.bigint();
      await this.control.ping();
      const rttUs = Number((process.hrtime.bigint() - t0) / 1000n);
      const res = await this.control
        .multi()
        .sadd(PROCESSES_KEY, this.identity)
        .exists(this.identity)
        .hset(this.identity, {
          info: this.info,
          busy: String(this.state.size),
          beat: String(Date.now() / 1000),
          rtt_us: String(rttUs),
          quiet: String(this.done || this.quiet),
          rss: String(Math.round(process.memoryUsage.rss() / 1024)),
        })
        .expire(this.identity, PROCESS_TTL_SEC)
        .rpop(signalsKey(this.identity))
        .exec();
      const signal = res?.[4]?.[1];
      // Sidekiq::Process#quiet! (TSTP) and #stop! (TERM): both stop fetching; the testbed's owner decides
      // when to stop.
      if (signal === 'TSTP' || signal === 'TERM') this.quiet = true;
      this.beatDown = false;
    } catch (err) {
      if (!this.finished && !this.beatDown) this.log(`heartbeat: ${(err as Error).message}`);
      this.beatDown = true;
    }
  }

  // ---- processors (Processor#run) -----------------------------------------

  private async run(slot: Slot): Promise<void> {
    const timeout = this.opts.fetchTimeoutSec;
    while (!this.done) {
      if (this.quiet) {
        await this.pause(timeout * 1000);
        continue;
      }
      const keys = fetchOrder(this.expanded, this.opts.random).map(queueKey);
      let work: [string, string] | null;
      try {
        work = await slot.conn.brpop(...keys, timeout);
        if (this.down) this.log('Redis is back');
        this.down = false;
      } catch (err) {
        if (this.done) return;
        if (!this.down) this.log(`Error fetching job: ${(err as Error).message}`);
        this.down = true;
        await this.pause(1000);
        continue;
      }
      if (!work) continue;
      if (this.done) {
        // Processor#fetch: a job fetched after shutdown began goes straight back.
        await this.requeue([{ key: work[0], jobstr: work[1], className: '', queue: '' }]);
        return;
      }
      await this.process(slot, work[0], work[1]);
    }
  }

  private async process(slot: Slot, key: string, jobstr: string): Promise<void> {
    const queue = key.slice('queue:'.length);
    let job: SidekiqJob;
    try {
      job = JSON.parse(jobstr) as SidekiqJob;
      if (!job || typeof job !== 'object' || Array.isArray(job)) throw new Error('not a job hash');
    } catch {
      // Processor#process: malformed JSON goes straight to the morgue, uncounted.
      await persist(3, () => killJob(this.control, jobstr, Date.now() / 1000)).catch((err) =>
        this.log(`lost a malformed job from ${key}: ${(err as Error).message}`),
      );
      return;
    }
    const inflight: InFlight = {
      jobstr,
      key,
      className: String(job.class),
      queue,
      startedMs: performance.now(),
      queueWaitSec:
        typeof job.enqueued_at === 'number' ? Math.max(0, Date.now() / 1000 - job.enqueued_at) : null,
      settled: false,
      abandoned: false,
      abort: new AbortController(),
    };
    slot.job = inflight;
    this.state.set(
      slot.tid,
      JSON.stringify({ queue, payload: jobstr, run_at: Math.floor(Date.now() / 1000) }),
    );
    const worker = Object.hasOwn(this.opts.workers, job.class) ? this.opts.workers[job.class] : undefined;
    let error: unknown;
    let ok = false;
    try {
      if (!worker) throw new UnknownJobClassError(String(job.class));
      const retryCount = typeof job.retry_count === 'number' ? job.retry_count + 1 : 0;
      await worker.perform(Array.isArray(job.args) ? job.args : [], {
        jid: job.jid,
        queue,
        retryCount,
        signal: inflight.abort.signal,
      });
      ok = true;
    } catch (err) {
      error = err;
    }
    // Pushed back to its queue at shutdown (or lost in a crash): this late outcome is not recorded.
    if (inflight.abandoned) return;
    inflight.settled = true;
    const durationSec = (performance.now() - inflight.startedMs) / 1000;
    try {
      await this.finish(inflight, worker, ok, error, durationSec);
    } finally {
      this.state.delete(slot.tid);
      slot.job = undefined;
    }
  }

  /** The retry/dead bookkeeping, then the counters Sidekiq flushes at each heartbeat (here at once). */
  private async finish(
    job: InFlight,
    worker: WorkerClass | undefined,
    ok: boolean,
    error: unknown,
    durationSec: number,
  ): Promise<void> {
    const nowMs = Date.now();
    const nowSec = nowMs / 1000;
    const outcome = ok
      ? undefined
      : planFailure({
          jobstr: job.jobstr,
          queue: job.queue,
          worker,
          error,
          nowSec,
          jitterSec: this.opts.retryJitterSec,
        });
    const date = utcDate(nowMs);
    try {
      // One MULTI: a reader never sees the retry/dead entry without its counts, or the reverse.
      await persist(3, () => {
        const m = this.control.multi();
        if (outcome?.kind === 'retry') m.zadd(RETRY_KEY, String(outcome.atSec), outcome.payload);
        else if (outcome?.kind === 'dead') addKill(m, outcome.payload, nowSec);
        m.incrby('stat:processed', 1)
          .incrby(`stat:processed:${date}`, 1)
          .expire(`stat:processed:${date}`, STATS_TTL_SEC);
        if (!ok)
          m.incrby('stat:failed', 1)
            .incrby(`stat:failed:${date}`, 1)
            .expire(`stat:failed:${date}`, STATS_TTL_SEC);
        return m.exec();
      });
    } catch (err) {
      // As Sidekiq's "Internal exception!": with basic fetch the job is gone.
      this.log(`could not record the outcome of ${job.className} from ${job.key}: ${(err as Error).message}`);
    }
    this.opts.onJobEnd({
      jobName: job.className,
      queue: job.queue,
      outcome: ok ? 'succeeded' : outcome?.kind === 'dead' ? 'dead' : 'failed',
      durationSec,
      queueWaitSec: job.queueWaitSec,
      ...(outcome ? { failure: failureOf(job.jobstr, error, outcome) } : {}),
    });
  }

  /** BasicFetch#bulk_requeue: RPUSH each job back onto its queue (the end that is popped next). */
  private async requeue(jobs: Pick<InFlight, 'key' | 'jobstr' | 'className' | 'queue'>[]): Promise<void> {
    if (jobs.length === 0) return;
    const byKey = new Map<string, string[]>();
    for (const j of jobs) byKey.set(j.key, [...(byKey.get(j.key) ?? []), j.jobstr]);
    try {
      await persist(3, () => {
        const p = this.control.pipeline();
        for (const [key, list] of byKey) p.rpush(key, ...list);
        return p.exec();
      });
    } catch (err) {
      this.log(`Failed to requeue ${jobs.length} jobs: ${(err as Error).message}`);
    }
  }

  // ---- shutdown -------------------------------------------------------------

  /** Launcher#stop: quiet, wait up to the deadline, push the rest back, clear the heartbeat. */
  async stop(shutdownTimeoutMs: number): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.wakeAll();
    const loops = this.slots.map((s) => s.loop ?? Promise.resolve());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(loops),
      new Promise<void>((r) => (timer = setTimeout(r, shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);

    const unfinished = this.slots.flatMap((s) => (s.job && !s.job.settled ? [s.job] : []));
    for (const j of unfinished) {
      j.abandoned = true;
      j.abort.abort(new Error('Sidekiq::Shutdown'));
      this.opts.onJobEnd({
        jobName: j.className,
        queue: j.queue,
        outcome: 'restarted',
        durationSec: (performance.now() - j.startedMs) / 1000,
        queueWaitSec: j.queueWaitSec,
      });
    }
    for (const s of this.slots) if (s.job?.abandoned) this.state.delete(s.tid);
    await this.requeue(unfinished);

    // Idle threads end within one fetch timeout; settled jobs are finishing their bookkeeping.
    const rest = this.slots.filter((s) => !s.job?.abandoned).map((s) => s.loop ?? Promise.resolve());
    await Promise.race([Promise.all(rest), sleep(this.opts.fetchTimeoutSec * 1000 + 3000)]);

    this.finished = true;
    clearTimeout(this.beatTimer);
    await this.beating;
    try {
      // Launcher#clear_heartbeat (+ the hash itself, which Sidekiq leaves to expire).
      await this.control
        .multi()
        .srem(PROCESSES_KEY, this.identity)
        .unlink(workersKey(this.identity), workKey7(this.identity), this.identity)
        .exec();
    } catch {
      // best effort, as Sidekiq
    }
    for (const s of this.slots) s.conn.disconnect();
    this.control.disconnect();
  }

  /** kill -9: nothing is written any more; jobs in flight are lost (basic fetch). */
  async crash(): Promise<void> {
    this.done = true;
    this.finished = true;
    clearTimeout(this.beatTimer);
    for (const s of this.slots) {
      if (s.job && !s.job.settled) {
        s.job.abandoned = true;
        s.job.abort.abort(new Error('killed'));
      }
    }
    this.wakeAll();
    for (const s of this.slots) s.conn.disconnect();
    this.control.disconnect();
    await Promise.race([
      Promise.all(this.slots.filter((s) => !s.job?.abandoned).map((s) => s.loop)),
      sleep(2000),
    ]);
  }
}

/**
 * Start `processes` Sidekiq processes per unit in this Node process, each with
 * `threads` job slots and its unit's weighted queues, plus one retry/schedule
 * poller. Resolves once every process has sent its first heartbeat (it is then
 * in `processes`).
 */
export async function startSidekiq(opts: SidekiqEngineOptions): Promise<SidekiqHandle> {
  const o = { ...ENGINE_DEFAULTS, ...opts };
  opts.units.forEach((unit, i) => {
    if (!(Number.isInteger(unit.threads) && unit.threads >= 1)) {
      throw new Error(
        `sidekiq unit ${i}: concurrency of ${unit.threads} is not supported (threads must be an integer >= 1)`,
      );
    }
    if (!(Number.isInteger(unit.processes) && unit.processes >= 0)) {
      throw new Error(`sidekiq unit ${i}: processes must be an integer >= 0, got ${unit.processes}`);
    }
    if (unit.queues.length === 0)
      throw new Error(`sidekiq unit ${i}: missing queue list (at least one queue)`);
  });
  const procs: SidekiqProcess[] = [];
  for (const unit of opts.units)
    for (let i = 0; i < unit.processes; i++) procs.push(new SidekiqProcess(unit, o));
  const log = opts.log ?? ((m: string) => console.warn(m));
  let pollerConn: Redis | undefined;
  let poller: Poller | undefined;
  if (procs.length > 0 && opts.poller !== false) {
    pollerConn = ownConnection(opts.newRedis);
    poller = new Poller(pollerConn, {
      intervalMs: o.pollIntervalMs,
      log,
      ...(opts.random ? { random: opts.random } : {}),
    });
  }
  try {
    await Promise.all(procs.map((p) => p.start()));
  } catch (err) {
    await Promise.all(procs.map((p) => p.crash()));
    pollerConn?.disconnect();
    throw err;
  }
  poller?.start();

  let stopping: Promise<void> | undefined;
  return {
    identities: procs.map((p) => p.identity),
    stop() {
      stopping ??= (async () => {
        // Every process stops fetching at once (its stop() begins synchronously), as does the poller.
        await Promise.all([poller?.stop(), ...procs.map((p) => p.stop(o.shutdownTimeoutMs))]);
        pollerConn?.disconnect();
      })();
      return stopping;
    },
    crash() {
      stopping ??= (async () => {
        const polling = poller?.stop();
        pollerConn?.disconnect();
        await Promise.all(procs.map((p) => p.crash()));
        await polling;
      })();
      return stopping;
    },
  };
}

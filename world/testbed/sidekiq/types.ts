import type { Redis } from 'ioredis';

/** A job exactly as Sidekiq stores it in `queue:NAME` (JSON): defined beside Sidekiq's read side. */
export type { SidekiqJob } from '../../../src/mastodon/sidekiqState.js';

export interface JobContext {
  jid: string;
  queue: string;
  /** 0 on the first run, n on the n-th retry (Sidekiq's `retry_count` + 1 once the job has failed). */
  retryCount: number;
  /**
   * Aborted when the engine gives up on the job: at stop() after the shutdown
   * timeout (the job has then been pushed back to its queue and its outcome
   * is ignored), or at a simulated crash. Sidekiq raises Sidekiq::Shutdown in
   * the thread at that point; a JS job can only be asked to stop.
   */
  signal?: AbortSignal;
}

/** What a job class does with its args; throwing sends the job to the retry set. */
export type JobHandler = (args: unknown[], ctx: JobContext) => Promise<void>;

export interface WorkerClass {
  queue: string;
  /**
   * Sidekiq's retry option: true = 25 retries, a number = that many; when they
   * are used up the job goes to `dead`. `0` = no retry, straight to `dead`;
   * `false` = no retry and no dead entry (the failure leaves no trace but stat:failed).
   */
  retry: boolean | number;
  /**
   * Per-class retry delay in seconds for retry number `count` (0 first), as
   * `sidekiq_retry_in` (ActivityPub::DeliveryWorker has its own). Used as the
   * whole delay when > 0 (Sidekiq would add its jitter `rand(10) * (count + 1)`
   * on top; here the class owns its randomness). Default: Sidekiq's
   * `count**4 + 15 + rand(10) * (count + 1)`.
   */
  retryIn?: (count: number) => number;
  /**
   * Sidekiq's `dead: false` option (ActivityPub::DeliveryWorker): exhausted jobs are dropped, not kept in
   * `dead`.
   */
  dead?: boolean;
  perform: JobHandler;
}

/** Job classes by name; the engine runs any name it is given (the testbed narrows it: TestbedWorkers). */
export type WorkerRegistry = Readonly<Record<string, WorkerClass | undefined>>;

/** One Sidekiq unit, as in a systemd file: processes × `-c threads`, `-q name,weight`... */
export interface SidekiqUnitConfig {
  processes: number;
  threads: number;
  queues: { name: string; weight: number }[];
}

export type RedisFactory = () => Redis;

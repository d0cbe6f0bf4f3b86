import type { Redis } from 'ioredis';

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
}

export interface JobContext {
  jid: string;
  queue: string;
  retryCount: number;
}

/** What a job class does with its args; throwing sends the job to the retry set. */
export type JobHandler = (args: any[], ctx: JobContext) => Promise<void>;

export interface WorkerClass {
  queue: string;
  /** Sidekiq's retry option: true = 25, a number, or false/0 = never retried (lost on failure). */
  retry: boolean | number;
  /** Per-class retry delay in seconds (ActivityPub::DeliveryWorker has its own). Default: Sidekiq's. */
  retryIn?: (count: number) => number;
  perform: JobHandler;
}

export type WorkerRegistry = Record<string, WorkerClass>;

/** One Sidekiq unit, as in a systemd file: processes × `-c threads`, `-q name,weight`... */
export interface SidekiqUnitConfig {
  processes: number;
  threads: number;
  queues: { name: string; weight: number }[];
}

export type RedisFactory = () => Redis;

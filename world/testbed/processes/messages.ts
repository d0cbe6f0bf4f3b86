/**
 * What the primary and the processes it forks say to each other over the IPC channel. A child says
 * `hello` once it listens; the primary answers with its `start` (a web worker's carries the shared
 * listening socket as the message's handle); the child answers `ready` or `failed`, and later `stopped`.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { TestbedConfig } from '../config.js';
import type { InstanceAddress } from '../openContext.js';
import type { LogEntry } from '../log.js';
import type { FinishedJob } from '../sidekiq/instruments.js';
import type { SidekiqUnitConfig } from '../sidekiq/types.js';
import type { FinishedRequest } from '../web/instruments.js';
import type { StreamingAddress } from '../web/streamingPass.js';

export type Role = 'web' | 'sidekiq' | 'streaming';

interface StartCommon {
  kind: 'start';
  config: TestbedConfig;
  address: InstanceAddress;
}

export type StartMessage =
  | (StartCommon & { role: 'web'; streaming: StreamingAddress })
  | (StartCommon & {
      role: 'sidekiq';
      unit: SidekiqUnitConfig;
      /** Average period of this process's retry/schedule poller: Sidekiq scales it by the process count. */
      pollIntervalMs: number;
    })
  | (StartCommon & { role: 'streaming' });

export type StartOf<R extends Role> = Extract<StartMessage, { role: R }>;

/** One registry's metrics as `Registry#getMetricsAsJSON` gives them (what prom-client aggregates). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Primary → child. */
export type ToChild =
  | StartMessage
  | { kind: 'stop' }
  /** Send your registry's metrics. */
  | { kind: 'collect'; id: number }
  /** The exporter's text, the answer to a web worker's `scrape` (undefined when it failed). */
  | { kind: 'scraped'; id: number; text: string | undefined };

/** Child → primary. */
export type ToPrimary =
  | { kind: 'hello' }
  /** `identity`: a Sidekiq process's, as in the `processes` set. */
  | { kind: 'ready'; identity?: string }
  | { kind: 'failed'; message: string }
  | { kind: 'stopped' }
  | { kind: 'metrics'; id: number; metrics: MetricsJson }
  /** A Sidekiq job ended (the per-job metrics are kept by the primary, as by the gem's collector). */
  | { kind: 'job'; job: FinishedJob }
  /** A web request ended (the web metrics are kept by the primary too). */
  | { kind: 'request'; request: FinishedRequest }
  /** A web worker serves GET /metrics: the exporter's text, please. */
  | { kind: 'scrape'; id: number }
  /** A line for the testbed's error log (log.ts), written by the primary. */
  | { kind: 'log'; entry: LogEntry };

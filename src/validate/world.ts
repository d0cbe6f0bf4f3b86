/**
 * The world a validation run loaded, as the product sees it: where the testbed answers, what it runs
 * (its infrastructure, as `fedicap testbed --print-profile` describes it, and its processes), and where
 * the collector reads it. The simulated world (world/cli/validationWorld.ts) starts it; src/ never
 * imports world/, so this is the contract both sides keep, checked where bin/fedicap.ts wires them.
 */
import type { z } from 'zod';
import type { profileSchema } from '../profile/schema.js';

/** An instance profile's infrastructure section as a file holds it (quantities with their provenance). */
export type InfrastructureInput = z.input<typeof profileSchema>['infrastructure'];

/** One OS process of the testbed. */
export interface ValidationWorldProcess {
  role: 'primary' | 'web' | 'sidekiq' | 'streaming';
  pid: number;
  /** primary, web-1…, sidekiq-ingress-1, sidekiq-mailers_pull_scheduler-1…, streaming: [A-Za-z0-9_.-]. */
  name: string;
  /** A Sidekiq process's queues and threads (`-c`); a web worker's threads (MAX_THREADS). */
  queues?: string[];
  threads?: number;
}

/** What a running validation world is; no secrets but those the URLs the user gave carry. */
export interface ValidationWorldFacts {
  /** The testbed's base URL, http://127.0.0.1:PORT, and its host:port. */
  url: string;
  host: string;
  /** The fleet's manifest (mode 0600: private keys) and the seeded accounts' tokens (mode 0600). */
  fleetManifestPath: string;
  tokensPath: string;
  /** The fleet's delivery records (NDJSON, appended), in the run directory. */
  deliveriesPath: string;
  /** The testbed's media files (the collector's --media-dir). */
  mediaDir: string;
  processes: ValidationWorldProcess[];
  infrastructure: InfrastructureInput;
  /** Sidekiq's Redis (queues, retries, processes), PostgreSQL, Redis INFO, the Prometheus exporter. */
  sidekiqRedisUrl: string;
  databaseUrl: string;
  redisUrl: string;
  metricsUrl: string;
}

export interface RunningValidationWorld extends ValidationWorldFacts {
  /** Stop everything the world started (no process left running). Idempotent. */
  stop(): Promise<void>;
}

import type { Server } from 'node:net';
import type { Registry } from 'prom-client';
import type { Role, StartOf } from './messages.js';
import type { PrimaryLink } from './primaryLink.js';

/** A process of the testbed once started: a web worker, a Sidekiq process or streaming. */
export interface RunningRole {
  /** This process's own metrics, which the primary's exporter merges. */
  metrics: Registry;
  /** A Sidekiq process's identity, as in the `processes` set. */
  identity?: string;
  /** Stop gracefully: stop taking work, finish what is in flight (bounded), close every connection. */
  stop(): Promise<void>;
}

/** Start a role from the primary's start message and, for a web worker or streaming, its listening socket. */
export type RoleRunner<R extends Role> = (
  start: StartOf<R>,
  listening: Server | undefined,
  link: PrimaryLink,
) => Promise<RunningRole>;

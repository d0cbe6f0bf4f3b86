/** What the main thread and the remote world (worker thread) say to each other. */
import { msBetween } from './clock.js';

export interface ActorRef {
  host: string;
  user: string;
}

export const actorUri = (a: ActorRef) => `https://${a.host}/users/${a.user}`;

export interface RateStep {
  ratePerSec: number;
  durationSec: number;
}

/** Messages from the main thread to the remote world. */
export type Command =
  | { op: 'start' }
  | { op: 'target'; url: string }
  | { op: 'prepare'; batch: string; actors: ActorRef[]; count: number; tag: string }
  | { op: 'closed'; batch: string; concurrency: number }
  | { op: 'steps'; batch: string; steps: RateStep[]; maxInFlight: number }
  | { op: 'readers'; path: string; tokens: string[]; durationMs: number }
  | { op: 'drop'; batch: string }
  | { op: 'remoteStats' };

export interface Started {
  port: number;
  avatarBytes: number;
  headerBytes: number;
}

export interface PreparedBatch {
  count: number;
  signMs: number;
}

/**
 * What one run of requests gave (times are process.hrtime.bigint() as decimal strings: the clock is shared by
 * threads).
 */
export interface SendStats {
  sent: number;
  byStatus: Record<string, number>;
  errors: number;
  firstError?: string;
  dropped: number;
  startNs: string;
  lastDoneNs: string;
  latenciesMs: number[];
}

export interface StepStats extends SendStats {
  endNs: string;
  ratePerSec: number;
}

/** Requests per second with the given status, first request → last answer. */
export const perSecWithStatus = (s: SendStats, status: string) =>
  (s.byStatus[status] ?? 0) / (msBetween(BigInt(s.startNs), BigInt(s.lastDoneNs)) / 1000);

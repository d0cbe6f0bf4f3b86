import type { QueueName } from '../mastodon/classes.js';
import type { PoolBottleneck } from './sidekiqNetwork.js';
import type { StorageState } from './storage.js';

/**
 * What a component is, as a typed value: code decides by `kind` and its
 * fields, and `componentId` alone renders the string the reports print.
 */
export type ComponentRef =
  | { kind: 'sidekiq-queue'; queue: QueueName }
  /** A pool of Sidekiq units sharing queues, named by its queues in fetch order. */
  | { kind: 'sidekiq-process'; queues: readonly QueueName[] }
  | { kind: 'postgres'; role: 'primary' | 'replica' }
  | { kind: 'web' }
  | { kind: 'streaming' }
  /** `main` holds home feeds and Sidekiq's queues; `cache` is CACHE_REDIS_URL's own instance. */
  | { kind: 'redis'; role: 'main' | 'cache' }
  | { kind: 'storage' };

export type ComponentKind = ComponentRef['kind'];

export const COMPONENT_KINDS = [
  'sidekiq-queue',
  'sidekiq-process',
  'postgres',
  'web',
  'streaming',
  'redis',
  'storage',
] as const satisfies readonly ComponentKind[];

/**
 * The component's id in the JSON, Markdown and CSV reports (a stable contract):
 * `sidekiq-queue:push`, `sidekiq-process:default+push`, `postgres`,
 * `postgres:replica`, `web`, `streaming`, `redis`, `redis:cache`, `storage`.
 */
export function componentId(ref: ComponentRef): string {
  switch (ref.kind) {
    case 'sidekiq-queue':
      return `sidekiq-queue:${ref.queue}`;
    case 'sidekiq-process':
      return `sidekiq-process:${ref.queues.join('+')}`;
    case 'postgres':
      return ref.role === 'primary' ? 'postgres' : 'postgres:replica';
    case 'redis':
      return ref.role === 'main' ? 'redis' : 'redis:cache';
    default:
      return ref.kind;
  }
}

/** A ref with its id rendered once (per profile for Sidekiq pools, once and for all for the rest). */
export interface Identity {
  ref: ComponentRef;
  id: string;
}

export function identify(ref: ComponentRef): Identity {
  return { ref, id: componentId(ref) };
}

/** Sidekiq components and the main Redis (whose queue backlog needs the Sidekiq waits). */
export function dependsOnSidekiqWaits(ref: ComponentRef): boolean {
  return (
    ref.kind === 'sidekiq-queue' ||
    ref.kind === 'sidekiq-process' ||
    (ref.kind === 'redis' && ref.role === 'main')
  );
}

/**
 * A Sidekiq queue whose wait is unbounded because its whole pool is overloaded (or its host has no core
 * left for it). That break is the pool's, whose own component saturates by then on its capacity or host
 * CPU: a queue saturates on its own only when its finite wait passes its limit.
 */
export function breaksWithItsPool(binding: Binding): boolean {
  return binding.kind === 'queue-wait' && !Number.isFinite(binding.waitSec);
}

/** One host's CPU utilization (co-located services share its cores). */
export interface HostCpu {
  host: string;
  utilization: number;
}

/** One utilization that limits a component, with the figures that explain it. */
export type Limit =
  /**
   * A Sidekiq pool as closed networks of its processes (sidekiqNetwork.ts): its peak arrivals against X(N),
   * its throughput with every thread busy, and what binds X(N). Thread and interpreter-lock utilization
   * explain it; neither can exceed it.
   */
  | {
      what: 'sidekiq-capacity';
      /** λ / X(N); ≥ 1 when the queue grows without bound. */
      utilization: number;
      maxThroughputPerSec: number;
      bottleneck: PoolBottleneck;
      processes: number;
      threads: number;
      /** Mean busy threads / threads (flow-equivalent server). */
      threadUtilization: number;
      /** Ruby CPU (the jobs' and Sidekiq's) per process: one core each at most, under the interpreter lock. */
      lockUtilization: number;
    }
  /** The busiest of the hosts, all of them listed. */
  | { what: 'host-cpu'; utilization: number; hosts: HostCpu[] }
  | { what: 'puma-threads'; utilization: number; webConcurrency: number; maxThreads: number }
  | { what: 'puma-cpu'; utilization: number; webConcurrency: number }
  | { what: 'postgres-cpu'; utilization: number; cores: number }
  | { what: 'replica-cpu'; utilization: number; cores: number }
  | {
      what: 'server-connections';
      utilization: number;
      busyConnections: number;
      serverConnections: number;
      pgbouncer: boolean;
    }
  | {
      what: 'streaming-connections';
      utilization: number;
      connections: number;
      processes: number;
      maxConnectionsPerProcess: number;
    }
  | { what: 'event-loop-cpu'; utilization: number }
  | {
      what: 'redis-memory';
      utilization: number;
      usedMB: number;
      maxmemoryMB: number;
      feedsMB: number;
      backlogMB: number;
    }
  | { what: 'cache-memory'; utilization: number; usedMB: number; maxmemoryMB: number }
  | {
      what: 'storage';
      utilization: number;
      storage: StorageState;
      capacityGB: number | null;
      headroom: number;
      databaseOnSameDisk: boolean;
    };

/** What binds a component this month: numbers only, the report words them. */
export type Binding =
  /** The largest of its utilizations. */
  | { kind: 'limit'; limit: Limit }
  /** A Sidekiq queue's wait at the SLO percentile, beside its pool's thread utilization. */
  | {
      kind: 'queue-wait';
      queue: QueueName;
      percentile: number;
      waitSec: number;
      limitSec: number;
      pool: readonly QueueName[];
      threadUtilization: number;
    }
  /** Puma's response time at the SLO percentile, when only it is over its limit. */
  | { kind: 'web-response'; percentile: number; responseSec: number; limitSec: number }
  /** Clients may open more PostgreSQL connections than allowed, whatever else binds. */
  | { kind: 'overbooked'; clients: number; configLimit: number; pgbouncer: boolean; otherwise: Binding };

/** One component in one month, judged at the peak hour. */
export interface ComponentState {
  ref: ComponentRef;
  /** `componentId(ref)`, kept beside it: maps and reports key by it. */
  id: string;
  kind: ComponentKind;
  utilization: number;
  /** Predicted latency at the SLO percentile (queue wait, web response), when the component has one. */
  latencySec: number | null;
  latencyLimitSec: number | null;
  /** Breaks its SLO or utilization limit this month. */
  broken: boolean;
  binding: Binding;
}

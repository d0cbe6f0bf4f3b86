import type { QueueName } from '../mastodon/classes.js';
import { identify, type Identity } from './components.js';
import { parseSidekiqCommand, type SidekiqArgs } from '../mastodon/sidekiqCommand.js';
import type { ModelProfile } from './workload.js';

/** One Sidekiq unit of the profile with its command line parsed. */
export interface SidekiqUnitPlan {
  /** Index in `infrastructure.sidekiq`. */
  index: number;
  host: string;
  processes: number;
  dbPool: number;
  /** Threads per process: `-c`, capped by DB_POOL since every job checks out a connection. */
  threads: number;
  args: SidekiqArgs;
}

/** A group of Sidekiq units that share queues: Sidekiq serves them as one pool of threads. */
export interface SidekiqPool {
  /** Queues in the order the units list them; the pool's component id joins them with `+`. */
  queueNames: QueueName[];
  units: number[];
  /** Highest weight any unit gives each queue. */
  queues: Map<QueueName, number>;
  threads: number;
  processes: number;
  hosts: Set<string>;
  /** The pool's component (`sidekiq-process`) and each queue's (`sidekiq-queue`). */
  identity: Identity;
  queueIdentities: Map<QueueName, Identity>;
}

/**
 * What the model derives from the profile's infrastructure once per profile
 * (parsed Sidekiq command lines, pools), instead of once per month.
 */
export interface InfrastructurePlan {
  sidekiqUnits: SidekiqUnitPlan[];
  pools: SidekiqPool[];
}

export function planInfrastructure(profile: ModelProfile): InfrastructurePlan {
  const sidekiqUnits = profile.infrastructure.sidekiq.map((u, index): SidekiqUnitPlan => {
    const args = parseSidekiqCommand(u.command);
    // The profile schema rejects a bad command: reaching here with one is a caller's bug.
    if ('error' in args) throw new RangeError(`infrastructure.sidekiq[${index}].command: ${args.error}`);
    const threads = Math.min(args.threads, u.dbPool);
    return { index, host: u.host, processes: u.processes, dbPool: u.dbPool, threads, args };
  });
  return { sidekiqUnits, pools: sidekiqPools(sidekiqUnits) };
}

/**
 * The unit's share of its pool's jobs: its share of the pool's threads (an idle thread blocks on Redis's
 * BRPOP, which hands each job to the client blocked longest, so jobs go round the idle threads).
 */
export function unitShare(pool: SidekiqPool, unit: SidekiqUnitPlan): number {
  return (unit.processes * unit.threads) / pool.threads;
}

/** The pool that serves `queue`, if any unit lists it. */
export function poolServing(plan: InfrastructurePlan, queue: QueueName): SidekiqPool | undefined {
  return plan.pools.find((p) => p.queues.has(queue));
}

/**
 * Units sharing any queue form one pool (connected components, by union–find):
 * a queue listed by several units is drained by all their threads. A unit's
 * threads are bounded by its DB_POOL, since every job checks out a connection.
 */
function sidekiqPools(units: readonly SidekiqUnitPlan[]): SidekiqPool[] {
  const parent = units.map((_, i) => i);
  const find = (i: number): number => {
    if (parent[i] !== i) parent[i] = find(parent[i]!);
    return parent[i]!;
  };
  const ownerOfQueue = new Map<QueueName, number>();
  units.forEach((u, i) => {
    for (const q of u.args.queues) {
      const owner = ownerOfQueue.get(q.name);
      if (owner === undefined) ownerOfQueue.set(q.name, i);
      else parent[find(i)] = find(owner);
    }
  });
  const pools = new Map<number, SidekiqPool>();
  units.forEach((u, i) => {
    const root = find(i);
    let pool = pools.get(root);
    if (!pool) {
      pool = {
        queueNames: [],
        units: [],
        queues: new Map(),
        threads: 0,
        processes: 0,
        hosts: new Set(),
        identity: identify({ kind: 'sidekiq-process', queues: [] }),
        queueIdentities: new Map(),
      };
      pools.set(root, pool);
    }
    pool.units.push(i);
    pool.threads += u.processes * u.threads;
    pool.processes += u.processes;
    pool.hosts.add(u.host);
    for (const q of u.args.queues) pool.queues.set(q.name, Math.max(pool.queues.get(q.name) ?? 0, q.weight));
  });
  for (const pool of pools.values()) {
    pool.queueNames = [...pool.queues.keys()];
    pool.identity = identify({ kind: 'sidekiq-process', queues: pool.queueNames });
    for (const queue of pool.queueNames)
      pool.queueIdentities.set(queue, identify({ kind: 'sidekiq-queue', queue }));
  }
  return [...pools.values()];
}

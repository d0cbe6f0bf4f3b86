import type { SidekiqArgs } from '../mastodon/sidekiqCommand.js';
import type { QueueName } from '../mastodon/classes.js';
import { componentId, type ComponentRef } from './components.js';
import { forecast, type Forecast, type ForecastOptions, type Saturation } from './forecast.js';
import {
  planInfrastructure,
  poolServing,
  type InfrastructurePlan,
  type SidekiqPool,
} from './infrastructure.js';
import type { ModelProfile } from './workload.js';

/** A change an admin makes, in Mastodon's knob names, and what it does to the profile. */
export interface Change {
  knob: string;
  description: string;
  /** The profile with the change made; the profile given is left as it was. */
  apply(profile: ModelProfile): ModelProfile;
  /** Extra vCPUs the change needs (for the budget), 0 for configuration only. */
  extraVcpus: number;
  /** Extra GB of media disk or bucket quota the change provisions; none when absent. */
  extraStorageGB?: number;
}

/** One line of a change's monthly bill: so many units at a price the profile states. */
export interface CostItem {
  unit: 'vCPU' | 'GB';
  quantity: number;
  usdPerUnitMonth: number;
  /** The profile field the price comes from. */
  price: string;
}

export interface Recommendation {
  /** The component that saturates first among those the change is for. */
  componentId: string;
  /** Every saturating component this one change is for, soonest first (componentId first). */
  componentIds: string[];
  saturationDate: string;
  knob: string;
  change: string;
  /**
   * New saturation date with the change: the earliest among componentIds; null = none within the horizon.
   */
  newSaturationDate: string | null;
  /** The sum of costItems: what the change adds to the monthly bill, 0 for configuration only. */
  extraMonthlyUSD: number;
  costItems: CostItem[];
}

/** A pure `apply`: `edit` works on a deep copy of the profile it is given. */
function editing(edit: (copy: ModelProfile) => void): (profile: ModelProfile) => ModelProfile {
  return (profile) => {
    const copy = structuredClone(profile);
    edit(copy);
    return copy;
  };
}

function sidekiqCommand(args: SidekiqArgs): string {
  return [
    `-c ${args.threads}`,
    ...args.queues.map((q) => `-q ${q.name}${q.weight > 1 ? `,${q.weight}` : ''}`),
  ].join(' ');
}

/** The Sidekiq pool a Sidekiq component belongs to: the one serving its (first) queue. */
function poolOf(plan: InfrastructurePlan, ref: ComponentRef): SidekiqPool | undefined {
  if (ref.kind === 'sidekiq-queue') return poolServing(plan, ref.queue);
  if (ref.kind === 'sidekiq-process' && ref.queues[0]) return poolServing(plan, ref.queues[0]);
  return undefined;
}

/** The host whose cores a component runs on, when more cores are a remedy. */
function hostOf(profile: ModelProfile, plan: InfrastructurePlan, ref: ComponentRef): string | null {
  const infra = profile.infrastructure;
  switch (ref.kind) {
    case 'web':
      return infra.puma.host;
    case 'streaming':
      return infra.streaming.host;
    case 'postgres':
      return ref.role === 'primary' ? infra.postgres.host : null;
    case 'sidekiq-queue':
    case 'sidekiq-process': {
      const pool = poolOf(plan, ref);
      return pool ? (plan.sidekiqUnits[pool.units[0]!]?.host ?? null) : null;
    }
    default:
      return null;
  }
}

function moreCores(profile: ModelProfile, hostName: string): Change {
  const host = profile.infrastructure.hosts.find((h) => h.name === hostName)!;
  const cores = host.cores;
  return {
    knob: `host ${hostName} cores`,
    description: `give host ${hostName} ${cores * 2} vCPUs instead of ${cores}`,
    extraVcpus: cores,
    apply: editing((p) => {
      const h = p.infrastructure.hosts.find((x) => x.name === hostName)!;
      h.cores *= 2;
      if (p.infrastructure.postgres.host === hostName) p.infrastructure.postgres.cores *= 2;
    }),
  };
}

/**
 * The queues a new Sidekiq process should serve in each pool (by the pool's component id): every queue but `scheduler` (which Mastodon
 * runs in one process only) when the pool itself saturates, else those of its queues that saturate on
 * their own. One process serves them all: one change, not one per queue.
 */
export function queuesNeedingAProcess(
  plan: InfrastructurePlan,
  saturating: readonly ComponentRef[],
): Map<string, QueueName[]> {
  const out = new Map<string, QueueName[]>();
  for (const pool of plan.pools) {
    const whole = saturating.some((r) => r.kind === 'sidekiq-process' && componentId(r) === pool.identity.id);
    const own = (q: QueueName) => saturating.some((r) => r.kind === 'sidekiq-queue' && r.queue === q);
    out.set(
      pool.identity.id,
      pool.queueNames.filter((q) => q !== 'scheduler' && (whole || own(q))),
    );
  }
  return out;
}

/**
 * A new Sidekiq process gets one more vCPU on its host: a Ruby process runs Ruby on one core at a time (the
 * interpreter lock), and prices.computePerVcpuMonth includes that vCPU's share of memory.
 */
const VCPUS_PER_SIDEKIQ_PROCESS = 1;

function extraSidekiqProcess(pool: SidekiqPool, queues: readonly QueueName[], onHost: string): Change {
  const command = sidekiqCommand({
    threads: 25,
    queues: queues.map((name) => ({ name, weight: pool.queues.get(name) ?? 1 })),
  });
  return {
    knob: 'extra Sidekiq process',
    description: `add a Sidekiq process \`sidekiq ${command}\` (DB_POOL=25) on host ${onHost}, with one more vCPU there`,
    extraVcpus: VCPUS_PER_SIDEKIQ_PROCESS,
    apply: editing((p) => {
      p.infrastructure.sidekiq.push({ host: onHost, processes: 1, command, dbPool: 25 });
      p.infrastructure.hosts.find((h) => h.name === onHost)!.cores += VCPUS_PER_SIDEKIQ_PROCESS;
    }),
  };
}

/** More threads in each unit of the pool, or one more process for the queues that need it. */
function sidekiqChanges(
  profile: ModelProfile,
  plan: InfrastructurePlan,
  ref: ComponentRef & { kind: 'sidekiq-queue' | 'sidekiq-process' },
  host: string | null,
  needing: ReadonlyMap<string, QueueName[]>,
): Change[] {
  const pool = poolOf(plan, ref);
  if (!pool) return [];
  const changes = pool.units.map((i): Change => {
    const args = plan.sidekiqUnits[i]!.args;
    const threads = Math.ceil(args.threads * 1.5);
    return {
      knob: 'sidekiq -c / DB_POOL',
      description: `raise Sidekiq unit ${i + 1} to \`${sidekiqCommand({ ...args, threads })}\` with DB_POOL=${threads}`,
      extraVcpus: 0,
      apply: editing((p) => {
        const u = p.infrastructure.sidekiq[i]!;
        u.command = sidekiqCommand({ ...args, threads });
        u.dbPool = Math.max(u.dbPool, threads);
      }),
    };
  });
  const queues = needing.get(pool.identity.id) ?? [];
  if (queues.length > 0) {
    changes.push(extraSidekiqProcess(pool, queues, host ?? profile.infrastructure.hosts[0]!.name));
  }
  return changes;
}

function webChanges(profile: ModelProfile): Change[] {
  const puma = profile.infrastructure.puma;
  return [
    {
      knob: 'MAX_THREADS',
      description: `raise MAX_THREADS to ${puma.maxThreads + 3} (and DB_POOL with it)`,
      extraVcpus: 0,
      apply: editing((p) => {
        p.infrastructure.puma.maxThreads += 3;
      }),
    },
    {
      knob: 'WEB_CONCURRENCY',
      description: `raise WEB_CONCURRENCY to ${puma.webConcurrency + 2}`,
      extraVcpus: 0,
      apply: editing((p) => {
        p.infrastructure.puma.webConcurrency += 2;
      }),
    },
  ];
}

/** The primary: more server connections (or PgBouncer), a read replica, more cores. */
function postgresChanges(profile: ModelProfile): Change[] {
  const pg = profile.infrastructure.postgres;
  const changes: Change[] = [
    pg.pgbouncer
      ? {
          knob: 'PgBouncer default_pool_size',
          description: `raise PgBouncer default_pool_size to ${pg.pgbouncer.poolSize * 2}`,
          extraVcpus: 0,
          apply: editing((p) => {
            p.infrastructure.postgres.pgbouncer!.poolSize *= 2;
          }),
        }
      : {
          knob: 'PgBouncer',
          description:
            'put PgBouncer in transaction mode in front of PostgreSQL (default_pool_size 40, max_client_conn 500, PREPARED_STATEMENTS=false)',
          extraVcpus: 0,
          apply: editing((p) => {
            p.infrastructure.postgres.pgbouncer = { poolSize: 40, maxClientConn: 500 };
          }),
        },
  ];
  if (!pg.readReplica) {
    changes.push({
      knob: 'read replica',
      description: `add a read replica (REPLICA_DATABASE_URL) with ${pg.cores} cores for timelines`,
      extraVcpus: pg.cores,
      apply: editing((p) => {
        p.infrastructure.postgres.readReplica = { cores: pg.cores };
      }),
    });
  }
  changes.push({
    knob: 'PostgreSQL cores',
    description: `give PostgreSQL ${pg.cores * 2} cores`,
    extraVcpus: pg.cores,
    apply: editing((p) => {
      p.infrastructure.postgres.cores *= 2;
      const h = p.infrastructure.hosts.find((x) => x.name === pg.host)!;
      h.cores = Math.max(h.cores, p.infrastructure.postgres.cores);
    }),
  });
  return changes;
}

function replicaChanges(profile: ModelProfile): Change[] {
  const cores = profile.infrastructure.postgres.readReplica?.cores ?? 1;
  return [
    {
      knob: 'replica cores',
      description: `give the read replica ${cores * 2} cores`,
      extraVcpus: cores,
      apply: editing((p) => {
        p.infrastructure.postgres.readReplica!.cores *= 2;
      }),
    },
  ];
}

function streamingChanges(profile: ModelProfile): Change[] {
  return [
    {
      knob: 'streaming processes',
      description: `run ${profile.infrastructure.streaming.processes + 1} streaming processes (one more PORT behind nginx)`,
      extraVcpus: 0,
      apply: editing((p) => {
        p.infrastructure.streaming.processes += 1;
      }),
    },
  ];
}

function redisChanges(profile: ModelProfile, role: 'main' | 'cache'): Change[] {
  const r = profile.infrastructure.redis;
  const changes: Change[] = [];
  if (role === 'main' && r.cacheMaxmemoryMB === null) {
    const cacheMB = Math.ceil(r.baseUsageMB * 2);
    changes.push({
      knob: 'CACHE_REDIS_URL',
      description: `move the cache to its own Redis (CACHE_REDIS_URL, maxmemory ${cacheMB} MB)`,
      extraVcpus: 0,
      apply: editing((p) => {
        p.infrastructure.redis.cacheMaxmemoryMB = cacheMB;
      }),
    });
  }
  changes.push({
    knob: 'Redis maxmemory',
    description: `raise Redis maxmemory to ${r.maxmemoryMB * 2} MB`,
    extraVcpus: 0,
    apply: editing((p) => {
      p.infrastructure.redis.maxmemoryMB *= 2;
    }),
  });
  return changes;
}

/** The main Redis holds Sidekiq's queues: a process for an overloaded pool stops its backlog growing. */
function backlogChanges(plan: InfrastructurePlan, needing: ReadonlyMap<string, QueueName[]>): Change[] {
  return plan.pools.flatMap((pool) => {
    const queues = needing.get(pool.identity.id) ?? [];
    const host = plan.sidekiqUnits[pool.units[0]!]!.host;
    return queues.length > 0 ? [extraSidekiqProcess(pool, queues, host)] : [];
  });
}

function storageChanges(profile: ModelProfile): Change[] {
  const days = profile.retention.remoteMediaCacheDays;
  const shorter = days === null ? 30 : Math.max(1, Math.floor(days / 2));
  const changes: Change[] = [
    {
      knob: 'tootctl media remove --days',
      description: `remove cached remote media after ${shorter} days (\`tootctl media remove --days ${shorter}\` daily, or media_cache_retention_period)`,
      extraVcpus: 0,
      apply: editing((p) => {
        p.retention.remoteMediaCacheDays = shorter;
      }),
    },
  ];
  const storage = profile.infrastructure.storage;
  if (storage.capacityGB !== null) {
    const capacityGB = storage.capacityGB * 2;
    changes.push({
      knob: 'storage capacity',
      description:
        storage.kind === 'disk'
          ? `grow the media disk to ${capacityGB} GB`
          : `raise the media bucket quota to ${capacityGB} GB (the bucket bills what it holds: the cost is once it fills)`,
      extraVcpus: 0,
      extraStorageGB: capacityGB - storage.capacityGB,
      apply: editing((p) => {
        p.infrastructure.storage.capacityGB = capacityGB;
      }),
    });
  }
  return changes;
}

/** Candidate changes for one saturating component, cheapest first; more host cores last where they help. */
export function candidateChanges(
  profile: ModelProfile,
  plan: InfrastructurePlan,
  ref: ComponentRef,
  needing: ReadonlyMap<string, QueueName[]> = queuesNeedingAProcess(plan, [ref]),
): Change[] {
  const host = hostOf(profile, plan, ref);
  const changes = ((): Change[] => {
    switch (ref.kind) {
      case 'sidekiq-queue':
      case 'sidekiq-process':
        return sidekiqChanges(profile, plan, ref, host, needing);
      case 'web':
        return webChanges(profile);
      case 'postgres':
        return ref.role === 'primary' ? postgresChanges(profile) : replicaChanges(profile);
      case 'streaming':
        return streamingChanges(profile);
      case 'redis':
        return [
          ...redisChanges(profile, ref.role),
          ...(ref.role === 'main' ? backlogChanges(plan, needing) : []),
        ];
      case 'storage':
        return storageChanges(profile);
    }
  })();
  if (host) changes.push(moreCores(profile, host));
  return changes;
}

/** What a change adds to the monthly bill, item by item, at the profile's prices. */
export function costItems(profile: ModelProfile, change: Change): CostItem[] {
  const items: CostItem[] = [];
  if (change.extraVcpus > 0) {
    const usd = profile.prices.computePerVcpuMonth;
    items.push({
      unit: 'vCPU',
      quantity: change.extraVcpus,
      usdPerUnitMonth: usd,
      price: 'prices.computePerVcpuMonth',
    });
  }
  const gb = change.extraStorageGB ?? 0;
  if (gb > 0) items.push({ unit: 'GB', quantity: gb, ...storagePrice(profile) });
  return items;
}

/** A disk bills the GB provisioned (prices.diskPerGBMonth); a bucket its provider's price per GB held. */
function storagePrice(profile: ModelProfile): { usdPerUnitMonth: number; price: string } {
  const { kind, provider } = profile.infrastructure.storage;
  if (kind === 'disk')
    return { usdPerUnitMonth: profile.prices.diskPerGBMonth, price: 'prices.diskPerGBMonth' };
  return {
    usdPerUnitMonth: profile.prices.storage[provider].storagePerGBMonth,
    price: `prices.storage.${provider}.storagePerGBMonth`,
  };
}

/** One saturating component's best change and its saturation month with it (null = beyond the horizon). */
interface Pick {
  id: string;
  saturation: Saturation;
  change: Change;
  month: number | null;
}

/**
 * For each component that saturates within the horizon, try its candidate
 * changes and keep the one that pushes its date furthest; among those that
 * clear the horizon, the first (cheapest) wins. Components whose best change
 * is the same change get one recommendation together, soonest first.
 */
export function recommend(profile: ModelProfile, base: Forecast, options: ForecastOptions): Recommendation[] {
  const plan = planInfrastructure(profile);
  const saturating = [...base.saturation]
    .filter((e): e is [string, Saturation] => e[1] !== null)
    .sort(([, a], [, b]) => a.month - b.month);
  const refOf = (id: string, sat: Saturation) =>
    base.months[sat.month]!.components.find((c) => c.id === id)!.ref;
  const needing = queuesNeedingAProcess(
    plan,
    saturating.map(([id, sat]) => refOf(id, sat)),
  );
  // A change shared by several components is forecast once.
  const forecasts = new Map<string, Forecast>();
  const forecastWith = (change: Change) => {
    const known = forecasts.get(change.description);
    if (known) return known;
    const result = forecast(change.apply(profile), options);
    forecasts.set(change.description, result);
    return result;
  };
  const picks: Pick[] = [];
  for (const [id, sat] of saturating) {
    let best: { change: Change; month: number | null } | null = null;
    for (const change of candidateChanges(profile, plan, refOf(id, sat), needing)) {
      const month = forecastWith(change).saturation.get(id)?.month ?? null;
      const better = !best || (best.month !== null && (month === null || month > best.month));
      if (better) best = { change, month };
      if (month === null) break;
    }
    if (!best || (best.month !== null && best.month <= sat.month)) continue;
    picks.push({ id, saturation: sat, ...best });
  }
  return groupByChange(picks).map((group) => recommendationOf(profile, base, group));
}

/** Picks grouped by their change, in the order each change first appears. */
function groupByChange(picks: readonly Pick[]): Pick[][] {
  const groups = new Map<string, Pick[]>();
  for (const pick of picks) {
    const group = groups.get(pick.change.description);
    if (group) group.push(pick);
    else groups.set(pick.change.description, [pick]);
  }
  return [...groups.values()];
}

function recommendationOf(profile: ModelProfile, base: Forecast, group: readonly Pick[]): Recommendation {
  const first = group[0]!;
  const months = group.map((p) => p.month ?? Infinity);
  const newMonth = Math.min(...months);
  const items = costItems(profile, first.change);
  return {
    componentId: first.id,
    componentIds: group.map((p) => p.id),
    saturationDate: first.saturation.date,
    knob: first.change.knob,
    change: first.change.description,
    newSaturationDate: Number.isFinite(newMonth) ? (base.months[newMonth]?.date ?? null) : null,
    extraMonthlyUSD: items.reduce((sum, i) => sum + i.quantity * i.usdPerUnitMonth, 0),
    costItems: items,
  };
}

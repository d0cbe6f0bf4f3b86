import type { SidekiqArgs } from '../mastodon/sidekiqCommand.js';
import type { ComponentRef } from './components.js';
import { forecast, type Forecast, type ForecastOptions } from './forecast.js';
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
}

export interface Recommendation {
  componentId: string;
  saturationDate: string;
  knob: string;
  change: string;
  /** New saturation date of that component with the change; null = not within the horizon. */
  newSaturationDate: string | null;
  extraMonthlyUSD: number;
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

/** More threads in each unit of the pool, or one more process for the queue (or the whole pool). */
function sidekiqChanges(
  profile: ModelProfile,
  plan: InfrastructurePlan,
  ref: ComponentRef & { kind: 'sidekiq-queue' | 'sidekiq-process' },
  host: string | null,
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
  const target =
    ref.kind === 'sidekiq-queue' ? [ref.queue] : pool.queueNames.filter((q) => q !== 'scheduler');
  const command = sidekiqCommand({
    threads: 25,
    queues: target.map((name) => ({ name, weight: pool.queues.get(name) ?? 1 })),
  });
  const onHost = host ?? profile.infrastructure.hosts[0]!.name;
  changes.push({
    knob: 'extra Sidekiq process',
    description: `add a Sidekiq process \`sidekiq ${command}\` (DB_POOL=25) on host ${onHost}`,
    extraVcpus: 0,
    apply: editing((p) => {
      p.infrastructure.sidekiq.push({ host: onHost, processes: 1, command, dbPool: 25 });
    }),
  });
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
      description: `grow the media ${storage.kind === 'disk' ? 'disk' : 'bucket quota'} to ${capacityGB} GB`,
      extraVcpus: 0,
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
): Change[] {
  const host = hostOf(profile, plan, ref);
  const changes = ((): Change[] => {
    switch (ref.kind) {
      case 'sidekiq-queue':
      case 'sidekiq-process':
        return sidekiqChanges(profile, plan, ref, host);
      case 'web':
        return webChanges(profile);
      case 'postgres':
        return ref.role === 'primary' ? postgresChanges(profile) : replicaChanges(profile);
      case 'streaming':
        return streamingChanges(profile);
      case 'redis':
        return redisChanges(profile, ref.role);
      case 'storage':
        return storageChanges(profile);
    }
  })();
  if (host) changes.push(moreCores(profile, host));
  return changes;
}

/**
 * For each component that saturates within the horizon, try its candidate
 * changes and keep the one that pushes its date furthest; among those that
 * clear the horizon, the first (cheapest) wins.
 */
export function recommend(profile: ModelProfile, base: Forecast, options: ForecastOptions): Recommendation[] {
  const plan = planInfrastructure(profile);
  const out: Recommendation[] = [];
  for (const [id, sat] of base.saturation) {
    if (!sat) continue;
    const component = base.months[sat.month]!.components.find((c) => c.id === id)!;
    let best: { change: Change; month: number | null } | null = null;
    for (const change of candidateChanges(profile, plan, component.ref)) {
      const after = forecast(change.apply(profile), options).saturation.get(id) ?? null;
      const month = after ? after.month : null;
      const better = !best || (best.month !== null && (month === null || month > best.month));
      if (better) best = { change, month };
      if (month === null) break;
    }
    if (!best || (best.month !== null && best.month <= sat.month)) continue;
    out.push({
      componentId: id,
      saturationDate: sat.date,
      knob: best.change.knob,
      change: best.change.description,
      newSaturationDate: best.month === null ? null : (base.months[best.month]?.date ?? null),
      extraMonthlyUSD: best.change.extraVcpus * profile.prices.computePerVcpuMonth,
    });
  }
  return out;
}

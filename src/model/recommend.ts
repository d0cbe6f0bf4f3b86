import { parseSidekiqCommand, type SidekiqArgs } from '../mastodon/sidekiqCommand.js';
import { forecast, type Forecast, type ForecastOptions } from './forecast.js';
import { sidekiqPools, type ComponentState } from './stations.js';
import type { ModelProfile } from './workload.js';

/** A change an admin makes, in Mastodon's knob names, and what it does to the profile. */
export interface Change {
  knob: string;
  description: string;
  apply(profile: ModelProfile): void;
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

function sidekiqCommand(args: SidekiqArgs): string {
  return [
    `-c ${args.threads}`,
    ...args.queues.map((q) => `-q ${q.name}${q.weight > 1 ? `,${q.weight}` : ''}`),
  ].join(' ');
}

function hostOf(profile: ModelProfile, component: ComponentState): string | null {
  const infra = profile.infrastructure;
  if (component.kind === 'web') return infra.puma.host;
  if (component.kind === 'streaming') return infra.streaming.host;
  if (component.kind === 'postgres' && component.id === 'postgres') return infra.postgres.host;
  if (component.kind === 'sidekiq-queue' || component.kind === 'sidekiq-process') {
    // sidekiq-queue:push or sidekiq-process:default+push+…: any queue names the pool.
    const queue = component.id.split(':')[1]?.split('+')[0];
    const pool = sidekiqPools(profile).find((p) => p.queues.has(queue as never));
    const unit = pool ? infra.sidekiq[pool.units[0]!] : undefined;
    return unit?.host ?? null;
  }
  return null;
}

function moreCores(profile: ModelProfile, hostName: string): Change {
  const host = profile.infrastructure.hosts.find((h) => h.name === hostName)!;
  const cores = host.cores;
  return {
    knob: `host ${hostName} cores`,
    description: `give host ${hostName} ${cores * 2} vCPUs instead of ${cores}`,
    extraVcpus: cores,
    apply: (p) => {
      const h = p.infrastructure.hosts.find((x) => x.name === hostName)!;
      h.cores *= 2;
      if (p.infrastructure.postgres.host === hostName) p.infrastructure.postgres.cores *= 2;
    },
  };
}

/** Candidate changes for one saturating component, cheapest first. */
export function candidateChanges(profile: ModelProfile, component: ComponentState): Change[] {
  const infra = profile.infrastructure;
  const changes: Change[] = [];
  const host = hostOf(profile, component);
  if (component.kind === 'sidekiq-queue' || component.kind === 'sidekiq-process') {
    const queues = component.id.split(':')[1]!.split('+');
    const pool = sidekiqPools(profile).find((p) => p.queues.has(queues[0] as never));
    if (pool) {
      for (const i of pool.units) {
        const unit = infra.sidekiq[i]!;
        const args = parseSidekiqCommand(unit.command) as SidekiqArgs;
        const threads = Math.ceil(args.threads * 1.5);
        changes.push({
          knob: 'sidekiq -c / DB_POOL',
          description: `raise Sidekiq unit ${i + 1} to \`${sidekiqCommand({ ...args, threads })}\` with DB_POOL=${threads}`,
          extraVcpus: 0,
          apply: (p) => {
            const u = p.infrastructure.sidekiq[i]!;
            u.command = sidekiqCommand({ ...args, threads });
            u.dbPool = Math.max(u.dbPool, threads);
          },
        });
      }
      const target =
        component.kind === 'sidekiq-queue'
          ? queues
          : [...pool.queues.keys()].filter((q) => q !== 'scheduler');
      const command = sidekiqCommand({
        threads: 25,
        queues: target.map((name) => ({ name: name as never, weight: pool.queues.get(name as never) ?? 1 })),
      });
      const onHost = host ?? infra.hosts[0]!.name;
      changes.push({
        knob: 'extra Sidekiq process',
        description: `add a Sidekiq process \`sidekiq ${command}\` (DB_POOL=25) on host ${onHost}`,
        extraVcpus: 0,
        apply: (p) => {
          p.infrastructure.sidekiq.push({ host: onHost, processes: 1, command, dbPool: 25 });
        },
      });
    }
  } else if (component.kind === 'web') {
    changes.push(
      {
        knob: 'MAX_THREADS',
        description: `raise MAX_THREADS to ${infra.puma.maxThreads + 3} (and DB_POOL with it)`,
        extraVcpus: 0,
        apply: (p) => void (p.infrastructure.puma.maxThreads += 3),
      },
      {
        knob: 'WEB_CONCURRENCY',
        description: `raise WEB_CONCURRENCY to ${infra.puma.webConcurrency + 2}`,
        extraVcpus: 0,
        apply: (p) => void (p.infrastructure.puma.webConcurrency += 2),
      },
    );
  } else if (component.kind === 'postgres' && component.id === 'postgres') {
    const pg = infra.postgres;
    changes.push(
      pg.pgbouncer
        ? {
            knob: 'PgBouncer default_pool_size',
            description: `raise PgBouncer default_pool_size to ${pg.pgbouncer.poolSize * 2}`,
            extraVcpus: 0,
            apply: (p) => void (p.infrastructure.postgres.pgbouncer!.poolSize *= 2),
          }
        : {
            knob: 'PgBouncer',
            description:
              'put PgBouncer in transaction mode in front of PostgreSQL (default_pool_size 40, max_client_conn 500, PREPARED_STATEMENTS=false)',
            extraVcpus: 0,
            apply: (p) => void (p.infrastructure.postgres.pgbouncer = { poolSize: 40, maxClientConn: 500 }),
          },
    );
    if (!pg.readReplica) {
      changes.push({
        knob: 'read replica',
        description: `add a read replica (REPLICA_DATABASE_URL) with ${pg.cores} cores for timelines`,
        extraVcpus: pg.cores,
        apply: (p) => void (p.infrastructure.postgres.readReplica = { cores: pg.cores }),
      });
    }
    changes.push({
      knob: 'PostgreSQL cores',
      description: `give PostgreSQL ${pg.cores * 2} cores`,
      extraVcpus: pg.cores,
      apply: (p) => {
        p.infrastructure.postgres.cores *= 2;
        const h = p.infrastructure.hosts.find((x) => x.name === pg.host)!;
        h.cores = Math.max(h.cores, p.infrastructure.postgres.cores);
      },
    });
  } else if (component.kind === 'postgres') {
    const cores = infra.postgres.readReplica?.cores ?? 1;
    changes.push({
      knob: 'replica cores',
      description: `give the read replica ${cores * 2} cores`,
      extraVcpus: cores,
      apply: (p) => void (p.infrastructure.postgres.readReplica!.cores *= 2),
    });
  } else if (component.kind === 'streaming') {
    changes.push({
      knob: 'streaming processes',
      description: `run ${infra.streaming.processes + 1} streaming processes (one more PORT behind nginx)`,
      extraVcpus: 0,
      apply: (p) => void (p.infrastructure.streaming.processes += 1),
    });
  } else if (component.kind === 'redis') {
    const r = infra.redis;
    if (component.id === 'redis' && r.cacheMaxmemoryMB === null) {
      changes.push({
        knob: 'CACHE_REDIS_URL',
        description: `move the cache to its own Redis (CACHE_REDIS_URL, maxmemory ${Math.ceil(r.baseUsageMB * 2)} MB)`,
        extraVcpus: 0,
        apply: (p) => void (p.infrastructure.redis.cacheMaxmemoryMB = Math.ceil(r.baseUsageMB * 2)),
      });
    }
    changes.push({
      knob: 'Redis maxmemory',
      description: `raise Redis maxmemory to ${r.maxmemoryMB * 2} MB`,
      extraVcpus: 0,
      apply: (p) => void (p.infrastructure.redis.maxmemoryMB *= 2),
    });
  } else if (component.kind === 'storage') {
    const days = profile.retention.remoteMediaCacheDays;
    const shorter = days === null ? 30 : Math.max(1, Math.floor(days / 2));
    changes.push({
      knob: 'tootctl media remove --days',
      description: `remove cached remote media after ${shorter} days (\`tootctl media remove --days ${shorter}\` daily, or media_cache_retention_period)`,
      extraVcpus: 0,
      apply: (p) => void (p.retention.remoteMediaCacheDays = shorter),
    });
    if (infra.storage.capacityGB !== null) {
      const cap = infra.storage.capacityGB;
      changes.push({
        knob: 'storage capacity',
        description: `grow the media ${infra.storage.kind === 'disk' ? 'disk' : 'bucket quota'} to ${cap * 2} GB`,
        extraVcpus: 0,
        apply: (p) => void (p.infrastructure.storage.capacityGB = cap * 2),
      });
    }
  }
  if (host && component.kind !== 'storage' && component.kind !== 'redis')
    changes.push(moreCores(profile, host));
  return changes;
}

/**
 * For each component that saturates within the horizon, try its candidate
 * changes and keep the one that pushes its date furthest; among those that
 * clear the horizon, the first (cheapest) wins.
 */
export function recommend(profile: ModelProfile, base: Forecast, options: ForecastOptions): Recommendation[] {
  const out: Recommendation[] = [];
  for (const [id, sat] of base.saturation) {
    if (!sat) continue;
    const component = base.months[sat.month]!.components.find((c) => c.id === id)!;
    let best: { change: Change; month: number | null } | null = null;
    for (const change of candidateChanges(profile, component)) {
      const changed = structuredClone(profile);
      change.apply(changed);
      const after = forecast(changed, options).saturation.get(id) ?? null;
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

import type { QueueName } from '../mastodon/classes.js';
import { HOME_FEED_MAX_ITEMS } from '../mastodon/limits.js';
import {
  identify,
  type Binding,
  type ComponentState,
  type HostCpu,
  type Identity,
  type Limit,
} from './components.js';
import type { InfrastructurePlan, SidekiqPool } from './infrastructure.js';
import type { StorageState } from './storage.js';
import type { WaitModel } from './waitModel.js';
import type { ModelProfile, Workload } from './workload.js';

/** Per queue, mean rates over the day: jobs/s, CPU, child-process CPU and wait seconds per second. */
interface QueueSums {
  rate: number;
  cpu: number;
  childCpu: number;
  wait: number;
}
const NO_JOBS: QueueSums = { rate: 0, cpu: 0, childCpu: 0, wait: 0 };

const WEB = identify({ kind: 'web' });
const POSTGRES = identify({ kind: 'postgres', role: 'primary' });
const REPLICA = identify({ kind: 'postgres', role: 'replica' });
const STREAMING = identify({ kind: 'streaming' });
const REDIS = identify({ kind: 'redis', role: 'main' });
const REDIS_CACHE = identify({ kind: 'redis', role: 'cache' });
const STORAGE = identify({ kind: 'storage' });

/** The month's load at the peak hour, shared by every station. */
interface PeakLoad {
  profile: ModelProfile;
  workload: Workload;
  peak: number;
  byQueue: Map<QueueName, QueueSums>;
  /** Ruby CPU (cores at peak) of each pool, in plan order. */
  poolCpu: number[];
  webCpu: number;
  primaryDbSec: number;
  streamingCpu: number;
  hostUtilization: (host: string) => number;
}

const sumRate = <T extends { ratePerSec: number }>(items: readonly T[], f: (item: T) => number) =>
  items.reduce((total, item) => total + item.ratePerSec * f(item), 0);

/** Processor-sharing stretch of CPU time at utilization u: S / (1 − u) (M/M/1-PS response time). */
function cpuStretch(utilization: number): number {
  return utilization < 1 ? 1 / (1 - utilization) : Infinity;
}

function queueSums(workload: Workload): Map<QueueName, QueueSums> {
  const byQueue = new Map<QueueName, QueueSums>();
  for (const j of workload.jobs) {
    let q = byQueue.get(j.queue);
    if (!q) {
      q = { rate: 0, cpu: 0, childCpu: 0, wait: 0 };
      byQueue.set(j.queue, q);
    }
    q.rate += j.ratePerSec;
    q.cpu += j.ratePerSec * j.cpuSec;
    q.childCpu += j.ratePerSec * j.childCpuSec;
    q.wait += j.ratePerSec * j.waitSec;
  }
  return byQueue;
}

/** Peak-hour total of `f` over the queues a pool serves. */
function poolPeakSum(
  load: Pick<PeakLoad, 'byQueue' | 'peak'>,
  pool: SidekiqPool,
  f: (q: QueueSums) => number,
) {
  let total = 0;
  for (const queue of pool.queues.keys()) {
    const q = load.byQueue.get(queue);
    if (q) total += f(q);
  }
  return load.peak * total;
}

/**
 * CPU demand (cores at the peak hour) of every service, added to its host:
 * co-located services share the host's cores.
 */
function peakLoad(profile: ModelProfile, plan: InfrastructurePlan, workload: Workload): PeakLoad {
  const infra = profile.infrastructure;
  const peak = profile.activity.peakToMeanRatio;
  const byQueue = queueSums(workload);
  const hostCores = new Map(infra.hosts.map((h) => [h.name, h.cores]));
  const hostDemand = new Map(infra.hosts.map((h) => [h.name, 0]));
  const addCpu = (host: string, cores: number) => hostDemand.set(host, (hostDemand.get(host) ?? 0) + cores);
  const poolCpu = plan.pools.map((pool) => poolPeakSum({ byQueue, peak }, pool, (q) => q.cpu));
  // ffmpeg and the like run beside Ruby: host cores, not the interpreter lock.
  const poolChildCpu = plan.pools.map((pool) => poolPeakSum({ byQueue, peak }, pool, (q) => q.childCpu));
  plan.pools.forEach((pool, p) => {
    for (const i of pool.units) {
      const unit = plan.sidekiqUnits[i]!;
      addCpu(unit.host, ((poolCpu[p]! + poolChildCpu[p]!) * unit.processes) / pool.processes);
    }
  });
  const webCpu = peak * sumRate(workload.web, (w) => w.cpuSec);
  addCpu(infra.puma.host, webCpu);
  const primaryWeb = infra.postgres.readReplica ? workload.web.filter((w) => !w.readsReplica) : workload.web;
  const primaryDbSec = peak * (sumRate(workload.jobs, (j) => j.dbSec) + sumRate(primaryWeb, (w) => w.dbSec));
  addCpu(infra.postgres.host, primaryDbSec);
  const streamingCpu =
    peak * workload.streaming.eventsPerSec * profile.serviceDemands.streamingCpuSecPerEvent;
  addCpu(infra.streaming.host, streamingCpu);
  return {
    profile,
    workload,
    peak,
    byQueue,
    poolCpu,
    webCpu,
    primaryDbSec,
    streamingCpu,
    hostUtilization: (host) => (hostDemand.get(host) ?? 0) / (hostCores.get(host) ?? 1),
  };
}

/**
 * Judge every component in one month at the peak hour. Co-located services
 * share their host's cores: a host's CPU utilization stretches the CPU part of
 * every service on it and is itself a limit of each. Without the Sidekiq waits
 * (a cheaper pass the Monte Carlo uses) the Sidekiq components and the main
 * Redis, whose backlog needs them, are left out.
 */
export function evaluateMonth(
  profile: ModelProfile,
  plan: InfrastructurePlan,
  workload: Workload,
  storage: StorageState,
  waitModel: WaitModel,
  options: { withSidekiqWaits?: boolean } = {},
): ComponentState[] {
  const withSidekiqWaits = options.withSidekiqWaits ?? true;
  const load = peakLoad(profile, plan, workload);
  const components: ComponentState[] = [];
  const backlogJobs: number[] = [];
  if (withSidekiqWaits) {
    plan.pools.forEach((pool, p) => {
      const judged = sidekiqPoolComponents(load, pool, load.poolCpu[p]!, waitModel);
      components.push(...judged.components);
      backlogJobs.push(judged.meanQueueLength);
    });
  }
  components.push(webComponent(load, waitModel), ...postgresComponents(load), streamingComponent(load));
  const backlog = backlogJobs.reduce((a, b) => a + b, 0);
  components.push(...redisComponents(profile, workload, withSidekiqWaits ? backlog : null));
  components.push(storageComponent(profile, storage));
  return components;
}

/** The pool's queues, one component each, then the pool itself (threads, Ruby CPU, host CPU). */
function sidekiqPoolComponents(
  load: PeakLoad,
  pool: SidekiqPool,
  rubyCpu: number,
  waitModel: WaitModel,
): { components: ComponentState[]; meanQueueLength: number } {
  const { slo } = load.profile;
  const percentile = slo.latencyPercentile;
  const gvlUtil = rubyCpu / pool.processes;
  const hosts = hostsCpu(load, [...pool.hosts]);
  const stretch = cpuStretch(Math.max(gvlUtil, hosts.utilization));
  const queueLoads = [...pool.queues].map(([queue, weight]) => {
    const q = load.byQueue.get(queue) ?? NO_JOBS;
    const rate = load.peak * q.rate;
    const busy = load.peak * (q.cpu * stretch + q.wait);
    return { queue, weight, arrivalRatePerSec: rate, serviceTimeSec: rate > 0 ? busy / rate : 0 };
  });
  const active = queueLoads.filter((q) => q.arrivalRatePerSec > 0);
  const waits = Number.isFinite(stretch) ? waitModel(active, pool.threads, percentile) : null;
  // Without a stable CPU the thread pool cannot be judged: report its unstretched load.
  const threadUtil = waits
    ? waits.utilization
    : poolPeakSum(load, pool, (q) => q.cpu + q.wait) / pool.threads;
  const components = queueLoads.map((q): ComponentState => {
    const limitSec = slo.queueLatencySec[q.queue];
    const waitSec = waits
      ? (waits.perQueue.find((w) => w.queue === q.queue)?.percentileWaitSec ?? 0)
      : Infinity;
    const binding: Binding = {
      kind: 'queue-wait',
      queue: q.queue,
      percentile,
      waitSec,
      limitSec,
      pool: pool.queueNames,
      threadUtilization: threadUtil,
    };
    const utilization = (q.arrivalRatePerSec * q.serviceTimeSec) / pool.threads;
    const identity = pool.queueIdentities.get(q.queue)!;
    return componentState(identity, utilization, waitSec, limitSec, waitSec > limitSec, binding);
  });
  const limits: Limit[] = [
    { what: 'sidekiq-threads', utilization: threadUtil, threads: pool.threads },
    { what: 'sidekiq-cpu', utilization: gvlUtil, processes: pool.processes },
    hosts,
  ];
  components.push(limitComponent(pool.identity, limits, slo.maxUtilization));
  return { components, meanQueueLength: waits?.meanQueueLength ?? Infinity };
}

/** CPU utilization of the busiest of these hosts. */
function hostsCpu(load: PeakLoad, names: string[]): Limit & { what: 'host-cpu' } {
  const hosts: HostCpu[] = names.map((host) => ({ host, utilization: load.hostUtilization(host) }));
  return { what: 'host-cpu', utilization: Math.max(...hosts.map((h) => h.utilization)), hosts };
}

/**
 * Puma: WEB_CONCURRENCY processes × MAX_THREADS threads, judged on threads, Ruby CPU, host CPU and response
 * time.
 */
function webComponent(load: PeakLoad, waitModel: WaitModel): ComponentState {
  const { slo, infrastructure } = load.profile;
  const { web } = load.workload;
  const puma = infrastructure.puma;
  const threads = puma.webConcurrency * puma.maxThreads;
  const gvlUtil = load.webCpu / puma.webConcurrency;
  const host = hostsCpu(load, [puma.host]);
  const stretch = cpuStretch(Math.max(gvlUtil, host.utilization));
  const rate = load.peak * sumRate(web, () => 1);
  const busy = load.peak * sumRate(web, (w) => w.cpuSec * stretch + w.waitSec);
  const serviceTimeSec = rate > 0 ? busy / rate : 0;
  const percentile = slo.latencyPercentile;
  const waits =
    Number.isFinite(stretch) && rate > 0
      ? waitModel([{ queue: 'web', weight: 1, arrivalRatePerSec: rate, serviceTimeSec }], threads, percentile)
      : null;
  const threadUtil = waits
    ? waits.utilization
    : (load.peak * sumRate(web, (w) => w.cpuSec + w.waitSec)) / threads;
  const responseSec =
    rate === 0 ? 0 : waits ? (waits.perQueue[0]?.percentileWaitSec ?? 0) + serviceTimeSec : Infinity;
  const { webConcurrency, maxThreads } = puma;
  return limitComponent(
    WEB,
    [
      { what: 'puma-threads', utilization: threadUtil, webConcurrency, maxThreads },
      { what: 'puma-cpu', utilization: gvlUtil, webConcurrency },
      host,
    ],
    slo.maxUtilization,
    {
      latencySec: responseSec,
      latencyLimitSec: slo.webResponseSec,
      binding: { kind: 'web-response', percentile, responseSec, limitSec: slo.webResponseSec },
    },
  );
}

/**
 * PostgreSQL behind its connection pool: cores and server connections both bound it; then the read replica.
 */
function postgresComponents(load: PeakLoad): ComponentState[] {
  const { infrastructure: infra, serviceDemands, slo } = load.profile;
  const pg = infra.postgres;
  const clients =
    infra.puma.webConcurrency * infra.puma.maxThreads +
    infra.sidekiq.reduce((n, u) => n + u.processes * u.dbPool, 0) +
    infra.streaming.processes * infra.streaming.dbPoolPerProcess;
  const pgbouncer = Boolean(pg.pgbouncer);
  const serverConnections = pg.pgbouncer
    ? Math.min(pg.pgbouncer.poolSize, pg.maxConnections)
    : pg.maxConnections;
  const busyConnections = load.primaryDbSec * serviceDemands.postgresConnectionHoldFactor;
  const limits: Limit[] = [
    { what: 'postgres-cpu', utilization: load.primaryDbSec / pg.cores, cores: pg.cores },
    {
      what: 'server-connections',
      utilization: busyConnections / serverConnections,
      busyConnections,
      serverConnections,
      pgbouncer,
    },
  ];
  const sharesHost =
    infra.hosts.find((h) => h.name === pg.host)?.services.some((s) => s !== 'postgres') ?? false;
  if (sharesHost) limits.push(hostsCpu(load, [pg.host]));
  const primary = limitComponent(POSTGRES, limits, slo.maxUtilization);
  const configLimit = pg.pgbouncer ? pg.pgbouncer.maxClientConn : pg.maxConnections;
  if (clients > configLimit) {
    primary.broken = true;
    primary.binding = { kind: 'overbooked', clients, configLimit, pgbouncer, otherwise: primary.binding };
  }
  const replica = pg.readReplica;
  if (!replica) return [primary];
  const replicaDbSec = sumRate(
    load.workload.web.filter((w) => w.readsReplica),
    (w) => w.dbSec,
  );
  const replicaUtil = (load.peak * replicaDbSec) / replica.cores;
  return [
    primary,
    limitComponent(
      REPLICA,
      [{ what: 'replica-cpu', utilization: replicaUtil, cores: replica.cores }],
      slo.maxUtilization,
    ),
  ];
}

/** Streaming: one Node.js process per PORT, bounded by connections, its event loop and its host. */
function streamingComponent(load: PeakLoad): ComponentState {
  const s = load.profile.infrastructure.streaming;
  const connections = load.peak * load.workload.streaming.meanConnections;
  return limitComponent(
    STREAMING,
    [
      {
        what: 'streaming-connections',
        utilization: connections / (s.processes * s.maxConnectionsPerProcess),
        connections,
        processes: s.processes,
        maxConnectionsPerProcess: s.maxConnectionsPerProcess,
      },
      { what: 'event-loop-cpu', utilization: load.streamingCpu / s.processes },
      hostsCpu(load, [s.host]),
    ],
    load.profile.slo.maxUtilization,
  );
}

/**
 * Redis: home feeds (capped at HOME_FEED_MAX_ITEMS entries per feed holder)
 * and queue backlogs (`backlogJobs`; null when the Sidekiq waits were skipped,
 * which leaves the main Redis out), then the cache's own Redis if any.
 */
function redisComponents(
  profile: ModelProfile,
  workload: Workload,
  backlogJobs: number | null,
): ComponentState[] {
  const r = profile.infrastructure.redis;
  const maxUtil = profile.slo.maxUtilization;
  const components: ComponentState[] = [];
  if (backlogJobs !== null) {
    const MB = 1e6;
    const feedsMB =
      (workload.feedHolders * HOME_FEED_MAX_ITEMS * profile.serviceDemands.redisBytesPerFeedEntry) / MB;
    const backlogMB = (backlogJobs * profile.serviceDemands.redisBytesPerQueuedJob) / MB;
    const baseOnMain = r.cacheMaxmemoryMB === null ? r.baseUsageMB : 0;
    const usedMB = baseOnMain + feedsMB + backlogMB;
    const memory: Limit = {
      what: 'redis-memory',
      utilization: usedMB / r.maxmemoryMB,
      usedMB,
      maxmemoryMB: r.maxmemoryMB,
      feedsMB,
      backlogMB,
    };
    components.push(limitComponent(REDIS, [memory], maxUtil));
  }
  if (r.cacheMaxmemoryMB !== null) {
    const cache: Limit = {
      what: 'cache-memory',
      utilization: r.baseUsageMB / r.cacheMaxmemoryMB,
      usedMB: r.baseUsageMB,
      maxmemoryMB: r.cacheMaxmemoryMB,
    };
    components.push(limitComponent(REDIS_CACHE, [cache], maxUtil));
  }
  return components;
}

/** Storage: the media disk or bucket quota, keeping the headroom free. */
function storageComponent(profile: ModelProfile, storage: StorageState): ComponentState {
  const st = profile.infrastructure.storage;
  const headroom = profile.slo.storageHeadroom;
  const utilization = st.capacityGB === null ? 0 : storage.usedGB / st.capacityGB;
  const limit: Limit = {
    what: 'storage',
    utilization,
    storage,
    capacityGB: st.capacityGB,
    headroom,
    databaseOnSameDisk: st.databaseOnSameDisk,
  };
  return componentState(STORAGE, utilization, null, null, utilization > 1 - headroom, {
    kind: 'limit',
    limit,
  });
}

/** Every component state is built here, so all share one shape (the Monte Carlo builds millions). */
function componentState(
  identity: Identity,
  utilization: number,
  latencySec: number | null,
  latencyLimitSec: number | null,
  broken: boolean,
  binding: Binding,
): ComponentState {
  const { ref, id } = identity;
  return { ref, id, kind: ref.kind, utilization, latencySec, latencyLimitSec, broken, binding };
}

/**
 * A component limited by several utilizations: the largest binds (the first
 * on a tie). A latency objective breaks it too; when only the latency does,
 * the latency is what binds.
 */
function limitComponent(
  identity: Identity,
  limits: readonly Limit[],
  maxUtil: number,
  latency?: { latencySec: number; latencyLimitSec: number; binding: Binding },
): ComponentState {
  let largest = limits[0]!;
  for (const limit of limits) if (limit.utilization > largest.utilization) largest = limit;
  const utilization = largest.utilization;
  const latencyBroken = latency !== undefined && latency.latencySec > latency.latencyLimitSec;
  return componentState(
    identity,
    utilization,
    latency?.latencySec ?? null,
    latency?.latencyLimitSec ?? null,
    utilization > maxUtil || latencyBroken,
    latencyBroken && utilization <= maxUtil ? latency.binding : { kind: 'limit', limit: largest },
  );
}

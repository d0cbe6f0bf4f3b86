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
import { unitShare, type InfrastructurePlan, type SidekiqPool } from './infrastructure.js';
import { poolNetworkOf, poolOperatingPoint, type PoolNetwork } from './poolNetwork.js';
import type { SidekiqPoolShape } from './sidekiqNetwork.js';
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
  webCpu: number;
  primaryDbSec: number;
  streamingCpu: number;
  /** Cores every service on `host` keeps busy at the peak. */
  hostDemand: (host: string) => number;
  hostCores: (host: string) => number;
  hostUtilization: (host: string) => number;
  /** The host whose services include Redis; null when Redis runs elsewhere. */
  redisHost: string | null;
}

const sumRate = <T extends { ratePerSec: number }>(items: readonly T[], f: (item: T) => number) =>
  items.reduce((total, item) => total + item.ratePerSec * f(item), 0);

/**
 * Processor-sharing stretch of Puma's CPU time at utilization u: S / (1 − u) (M/M/1-PS response time).
 * Sidekiq pools are closed networks instead (sidekiqPoolComponents); Puma keeps this open approximation: a
 * network per Puma worker would cost the Monte Carlo a second solve on each of its cheap passes, and the web
 * demands do not yet separate Rails's own CPU per request from the endpoint's.
 */
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
 * co-located services share the host's cores. A Sidekiq pool's Ruby CPU (its
 * jobs' and Sidekiq's own) and its jobs' ffmpeg go to its units' hosts by their
 * share of its threads; Redis's CPU per job to the host that runs Redis.
 */
function peakLoad(profile: ModelProfile, plan: InfrastructurePlan, workload: Workload): PeakLoad {
  const infra = profile.infrastructure;
  const demands = profile.serviceDemands;
  const peak = profile.activity.peakToMeanRatio;
  const byQueue = queueSums(workload);
  const hostCores = new Map(infra.hosts.map((h) => [h.name, h.cores]));
  const hostDemand = new Map(infra.hosts.map((h) => [h.name, 0]));
  const addCpu = (host: string, cores: number) => hostDemand.set(host, (hostDemand.get(host) ?? 0) + cores);
  for (const pool of plan.pools) {
    // ffmpeg and the like run beside Ruby: host cores, not the interpreter lock.
    const cpu = poolPeakSum(
      { byQueue, peak },
      pool,
      (q) => q.cpu + q.rate * demands.sidekiqFrameworkCpuSec + q.childCpu,
    );
    for (const i of pool.units) {
      const unit = plan.sidekiqUnits[i]!;
      addCpu(unit.host, cpu * unitShare(pool, unit));
    }
  }
  const redisHost = infra.hosts.find((h) => h.services.includes('redis'))?.name ?? null;
  if (redisHost) addCpu(redisHost, peak * sumRate(workload.jobs, () => demands.redisCpuSecPerJob));
  const webCpu = peak * sumRate(workload.web, (w) => w.cpuSec);
  addCpu(infra.puma.host, webCpu);
  const primaryWeb = infra.postgres.readReplica ? workload.web.filter((w) => !w.readsReplica) : workload.web;
  const primaryDbSec = peak * (sumRate(workload.jobs, (j) => j.dbSec) + sumRate(primaryWeb, (w) => w.dbSec));
  addCpu(infra.postgres.host, primaryDbSec);
  const streamingCpu = peak * workload.streaming.eventsPerSec * demands.streamingCpuSecPerEvent;
  addCpu(infra.streaming.host, streamingCpu);
  return {
    profile,
    workload,
    peak,
    byQueue,
    webCpu,
    primaryDbSec,
    streamingCpu,
    hostDemand: (host) => hostDemand.get(host) ?? 0,
    hostCores: (host) => hostCores.get(host) ?? 1,
    hostUtilization: (host) => (hostDemand.get(host) ?? 0) / (hostCores.get(host) ?? 1),
    redisHost,
  };
}

/**
 * Judge every component in one month at the peak hour. Co-located services
 * share their host's cores: a host's CPU utilization is a limit of each
 * service on it; Sidekiq's interpreter-lock holders get the cores the rest
 * leaves them (sidekiqPoolComponents), Puma's CPU is stretched by processor
 * sharing at the host's utilization (webComponent). Without the Sidekiq waits
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
    for (const pool of plan.pools) {
      const judged = sidekiqPoolComponents(load, plan, pool, waitModel);
      components.push(...judged.components);
      backlogJobs.push(judged.meanQueueLength);
    }
  }
  components.push(webComponent(load, waitModel), ...postgresComponents(load), streamingComponent(load));
  const backlog = backlogJobs.reduce((a, b) => a + b, 0);
  components.push(...redisComponents(profile, workload, withSidekiqWaits ? backlog : null));
  components.push(storageComponent(profile, storage));
  return components;
}

/** A pool's queue at the peak hour: jobs/s, and per job its Ruby CPU (with Sidekiq's own) and I/O wait. */
interface PoolQueue {
  queue: QueueName;
  weight: number;
  rate: number;
  cpuSec: number;
  waitSec: number;
}

function poolQueues(load: PeakLoad, pool: SidekiqPool): PoolQueue[] {
  const framework = load.profile.serviceDemands.sidekiqFrameworkCpuSec;
  return [...pool.queues].map(([queue, weight]) => {
    const q = load.byQueue.get(queue) ?? NO_JOBS;
    const perJob = (total: number) => (q.rate > 0 ? total / q.rate : 0);
    return {
      queue,
      weight,
      rate: load.peak * q.rate,
      cpuSec: perJob(q.cpu) + framework,
      waitSec: perJob(q.wait),
    };
  });
}

/** The pool's peak job mix: jobs/s, and the rate-weighted mean job CPU (without Sidekiq's) and wait. */
function jobMix(load: PeakLoad, queues: readonly PoolQueue[]) {
  const framework = load.profile.serviceDemands.sidekiqFrameworkCpuSec;
  const rate = queues.reduce((a, q) => a + q.rate, 0);
  const mean = (f: (q: PoolQueue) => number) =>
    rate > 0 ? queues.reduce((a, q) => a + q.rate * f(q), 0) / rate : 0;
  return { rate, jobCpuSec: Math.max(0, mean((q) => q.cpuSec) - framework), waitSec: mean((q) => q.waitSec) };
}

/**
 * The pool's units as closed networks (sidekiqNetwork.ts). A unit's lock holders get the cores of its host
 * that everything else there leaves them at the peak — Puma, PostgreSQL, streaming, other pools and units,
 * ffmpeg, Redis's CPU for other units' jobs — as a lower-priority class sees a processor whose capacity the
 * others' utilization reduces (the shadow server for priority scheduling: Sevcik 1977, [QSP] ch. 11); its
 * own jobs' Redis CPU, when Redis runs
 * there, is in the network. Null when nothing is left: the host alone is overloaded.
 */
function poolNetwork(
  load: PeakLoad,
  plan: InfrastructurePlan,
  pool: SidekiqPool,
  mix: ReturnType<typeof jobMix>,
): PoolNetwork | null {
  const { sidekiqFrameworkCpuSec, redisCpuSecPerJob } = load.profile.serviceDemands;
  const shapes: SidekiqPoolShape[] = [];
  for (const i of pool.units) {
    const unit = plan.sidekiqUnits[i]!;
    const redisHere = load.redisHost === unit.host ? redisCpuSecPerJob : 0;
    const own = unitShare(pool, unit) * mix.rate * (mix.jobCpuSec + sidekiqFrameworkCpuSec + redisHere);
    const cores = load.hostCores(unit.host);
    const hostCores = cores - (load.hostDemand(unit.host) - own);
    if (!(hostCores > 1e-9 * cores)) return null; // (not rounding error's last bit of a core)
    shapes.push({
      processes: unit.processes,
      threads: unit.threads,
      jobCpuSec: mix.jobCpuSec,
      jobWaitSec: mix.waitSec,
      frameworkCpuSec: sidekiqFrameworkCpuSec,
      hostCores,
      redisCpuSecPerJob: redisHere,
    });
  }
  return poolNetworkOf(shapes);
}

/**
 * The pool's queues, one component each, then the pool itself: its closed network's capacity X(N) against the
 * peak arrivals, and its host. The pool's P(wait) and mean wait are its flow-equivalent server's at the peak
 * rate; Sidekiq's weighted fetch splits them between the queues (sidekiq.ts), each queue's service time being
 * its CPU stretched as the network stretches it at that load, plus its wait (poolNetwork.ts). Jobs that take
 * no time at all (no CPU, no wait) never hold a thread: nothing to solve.
 */
function sidekiqPoolComponents(
  load: PeakLoad,
  plan: InfrastructurePlan,
  pool: SidekiqPool,
  waitModel: WaitModel,
): { components: ComponentState[]; meanQueueLength: number } {
  const { slo, serviceDemands } = load.profile;
  const percentile = slo.latencyPercentile;
  const queues = poolQueues(load, pool);
  const mix = jobMix(load, queues);
  const cpuSec = mix.jobCpuSec + serviceDemands.sidekiqFrameworkCpuSec;
  const instant = cpuSec + mix.waitSec <= 0;
  const network = instant ? null : poolNetwork(load, plan, pool, mix);
  const point = network && poolOperatingPoint(network, mix.rate, { cpuSec, waitSec: mix.waitSec });
  const queueLoads = queues.map((q) => ({
    queue: q.queue,
    weight: q.weight,
    arrivalRatePerSec: q.rate,
    serviceTimeSec: q.rate > 0 ? q.cpuSec * (point?.cpuStretch ?? 1) + q.waitSec : 0,
  }));
  const active = queueLoads.filter((q) => q.arrivalRatePerSec > 0);
  const waits = point?.flow.stable ? waitModel(active, pool.threads, percentile, point.flow) : null;
  // Without a core left for its lock holders the network cannot be solved: report the threads' plain load.
  const threadUtil = point
    ? point.flow.meanBusyThreads / pool.threads
    : (mix.rate * (cpuSec + mix.waitSec)) / pool.threads;
  const unsolved = instant || mix.rate === 0 ? 0 : Infinity;
  const components = queueLoads.map((q): ComponentState => {
    const limitSec = slo.queueLatencySec[q.queue];
    const waitSec = waits
      ? (waits.perQueue.find((w) => w.queue === q.queue)?.percentileWaitSec ?? 0)
      : unsolved;
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
  const limits: Limit[] = [hostsCpu(load, [...pool.hosts])];
  if (network && point) {
    limits.unshift({
      what: 'sidekiq-capacity',
      utilization: point.flow.utilization,
      maxThroughputPerSec: network.maxThroughputPerSec,
      bottleneck: network.bottleneck,
      processes: pool.processes,
      threads: pool.threads,
      threadUtilization: threadUtil,
      lockUtilization: (mix.rate * cpuSec) / pool.processes,
    });
  }
  components.push(limitComponent(pool.identity, limits, slo.maxUtilization));
  return { components, meanQueueLength: waits?.meanQueueLength ?? unsolved };
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

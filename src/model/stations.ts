import { parseSidekiqCommand, type SidekiqArgs } from '../mastodon/sidekiqCommand.js';
import type { QueueName } from '../mastodon/classes.js';
import { HOME_FEED_MAX_ITEMS } from '../mastodon/limits.js';
import type { StorageState } from './storage.js';
import type { WaitModel } from './waitModel.js';
import type { ModelProfile, Workload } from './workload.js';

export const COMPONENT_KINDS = [
  'sidekiq-queue',
  'sidekiq-process',
  'postgres',
  'web',
  'streaming',
  'redis',
  'storage',
] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

/** One component in one month, judged at the peak hour. */
export interface ComponentState {
  id: string;
  kind: ComponentKind;
  utilization: number;
  /** Predicted latency at the SLO percentile (queue wait, web response), when the component has one. */
  latencySec: number | null;
  latencyLimitSec: number | null;
  /** Breaks its SLO or utilization limit this month. */
  broken: boolean;
  /** The binding constraint, in words an admin recognises. */
  binding: string;
  /** Where the service demands come from: profile paths, for the calibration check. */
  demandPaths: string[];
}

/** A group of Sidekiq units that share queues: Sidekiq serves them as one pool of threads. */
export interface SidekiqPool {
  label: string;
  units: number[];
  queues: Map<QueueName, number>;
  threads: number;
  processes: number;
  hosts: Set<string>;
}

/**
 * Units sharing any queue form one pool (connected components): a queue
 * listed by several units is drained by all their threads. A unit's threads
 * are bounded by its DB_POOL, since every job checks out a connection.
 */
export function sidekiqPools(profile: ModelProfile): SidekiqPool[] {
  const units = profile.infrastructure.sidekiq.map((u) => ({
    ...u,
    args: parseSidekiqCommand(u.command) as SidekiqArgs,
  }));
  const parent = units.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
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
      pool = { label: '', units: [], queues: new Map(), threads: 0, processes: 0, hosts: new Set() };
      pools.set(root, pool);
    }
    pool.units.push(i);
    pool.threads += u.processes * Math.min(u.args.threads, u.dbPool);
    pool.processes += u.processes;
    pool.hosts.add(u.host);
    for (const q of u.args.queues) pool.queues.set(q.name, Math.max(pool.queues.get(q.name) ?? 0, q.weight));
  });
  for (const pool of pools.values()) pool.label = [...pool.queues.keys()].join('+');
  return [...pools.values()];
}

const sumRate = <T extends { ratePerSec: number }>(items: readonly T[], f: (item: T) => number) =>
  items.reduce((total, item) => total + item.ratePerSec * f(item), 0);

/** Processor-sharing stretch of CPU time at utilization u: S / (1 − u) (M/M/1-PS response time). */
function cpuStretch(utilization: number): number {
  return utilization < 1 ? 1 / (1 - utilization) : Infinity;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const secs = (x: number) =>
  Number.isFinite(x) ? (x < 1 ? `${(x * 1000).toFixed(0)} ms` : `${x.toFixed(1)} s`) : 'unbounded';

/**
 * Judge every component in one month at the peak hour. Co-located services
 * share their host's cores: a host's CPU utilization stretches the CPU part of
 * every service on it and is itself a limit of each.
 */
export function evaluateMonth(
  profile: ModelProfile,
  workload: Workload,
  storage: StorageState,
  waitModel: WaitModel,
  options: { pools?: SidekiqPool[]; explain?: boolean; withSidekiqWaits?: boolean } = {},
): ComponentState[] {
  const explain = options.explain ?? true;
  // Without them (a cheaper pass the Monte Carlo uses) the Sidekiq components and Redis, whose backlog needs them, are left out.
  const withSidekiqWaits = options.withSidekiqWaits ?? true;
  const paths = (f: () => string[]) => (explain ? f() : []);
  const { infrastructure: infra, slo } = profile;
  const peak = profile.activity.peakToMeanRatio;
  const maxUtil = slo.maxUtilization;
  const percentile = slo.latencyPercentile;
  const pools = options.pools ?? sidekiqPools(profile);
  const replica = infra.postgres.readReplica;

  // CPU demand (cores at peak) by host.
  const hostCores = new Map(infra.hosts.map((h) => [h.name, h.cores]));
  const hostDemand = new Map(infra.hosts.map((h) => [h.name, 0]));
  const addCpu = (host: string, cores: number) => hostDemand.set(host, (hostDemand.get(host) ?? 0) + cores);
  // One pass over the job classes: per queue, jobs/s and CPU, child-process CPU and wait seconds per second (mean rates).
  type QueueSums = { rate: number; cpu: number; childCpu: number; wait: number; jobClasses: string[] };
  const byQueue = new Map<QueueName, QueueSums>();
  for (const j of workload.jobs) {
    let q = byQueue.get(j.queue);
    if (!q) byQueue.set(j.queue, (q = { rate: 0, cpu: 0, childCpu: 0, wait: 0, jobClasses: [] }));
    q.rate += j.ratePerSec;
    q.cpu += j.ratePerSec * j.cpuSec;
    q.childCpu += j.ratePerSec * j.childCpuSec;
    q.wait += j.ratePerSec * j.waitSec;
    q.jobClasses.push(j.jobClass);
  }
  const poolSum = (pool: SidekiqPool, f: (q: QueueSums) => number) => {
    let total = 0;
    for (const queue of pool.queues.keys()) {
      const q = byQueue.get(queue);
      if (q) total += f(q);
    }
    return peak * total;
  };
  const poolCpu = pools.map((pool) => poolSum(pool, (q) => q.cpu));
  // ffmpeg and the like run beside Ruby: host cores, not the interpreter lock.
  const poolChildCpu = pools.map((pool) => poolSum(pool, (q) => q.childCpu));
  pools.forEach((pool, p) => {
    for (const i of pool.units) {
      const unit = infra.sidekiq[i]!;
      addCpu(unit.host, ((poolCpu[p]! + poolChildCpu[p]!) * unit.processes) / pool.processes);
    }
  });
  const webCpu = peak * sumRate(workload.web, (w) => w.cpuSec);
  addCpu(infra.puma.host, webCpu);
  const primaryWeb = replica ? workload.web.filter((w) => !w.readsReplica) : workload.web;
  const primaryDbSec = peak * (sumRate(workload.jobs, (j) => j.dbSec) + sumRate(primaryWeb, (w) => w.dbSec));
  addCpu(infra.postgres.host, primaryDbSec);
  const streamingCpu =
    peak * workload.streaming.eventsPerSec * profile.serviceDemands.streamingCpuSecPerEvent;
  addCpu(infra.streaming.host, streamingCpu);
  const hostUtil = (host: string) => (hostDemand.get(host) ?? 0) / (hostCores.get(host) ?? 1);
  const hostNote = (host: string) => `host ${host} CPU ${pct(hostUtil(host))}`;

  const components: ComponentState[] = [];
  const queueBacklogJobs: number[] = [];

  pools.forEach((pool, p) => {
    if (!withSidekiqWaits) return;
    const gvlUtil = poolCpu[p]! / pool.processes;
    const hostsUtil = Math.max(...[...pool.hosts].map(hostUtil));
    const stretch = cpuStretch(Math.max(gvlUtil, hostsUtil));
    const queueLoads = [...pool.queues].map(([queue, weight]) => {
      const q = byQueue.get(queue) ?? { rate: 0, cpu: 0, childCpu: 0, wait: 0, jobClasses: [] };
      const rate = peak * q.rate;
      const busy = peak * (q.cpu * stretch + q.wait);
      const demandPaths = () => [
        ...q.jobClasses.map((c) => `serviceDemands.jobs.${c}`),
        ...(q.childCpu > 0 ? ['serviceDemands.videoTranscodeCpuSec'] : []),
      ];
      return {
        queue,
        weight,
        arrivalRatePerSec: rate,
        serviceTimeSec: rate > 0 ? busy / rate : 0,
        demandPaths,
      };
    });
    const active = queueLoads.filter((q) => q.arrivalRatePerSec > 0);
    const waits = Number.isFinite(stretch) ? waitModel(active, pool.threads, percentile) : null;
    // Without a stable CPU the thread pool cannot be judged: report its unstretched load.
    const threadUtil = waits ? waits.utilization : poolSum(pool, (q) => q.cpu + q.wait) / pool.threads;
    queueBacklogJobs.push(waits?.meanQueueLength ?? Infinity);
    for (const q of queueLoads) {
      const limit = slo.queueLatencySec[q.queue];
      const latency = waits
        ? (waits.perQueue.find((w) => w.queue === q.queue)?.percentileWaitSec ?? 0)
        : Infinity;
      components.push({
        id: `sidekiq-queue:${q.queue}`,
        kind: 'sidekiq-queue',
        utilization: (q.arrivalRatePerSec * q.serviceTimeSec) / pool.threads,
        latencySec: latency,
        latencyLimitSec: limit,
        broken: latency > limit,
        binding: explain
          ? `${q.queue} p${percentile} latency ${secs(latency)} (limit ${secs(limit)}); pool ${pool.label} threads ${pct(threadUtil)} busy`
          : '',
        demandPaths: paths(q.demandPaths),
      });
    }
    const limits: Limit[] = [
      [threadUtil, () => `${pool.threads} threads ${pct(threadUtil)} busy`],
      [gvlUtil, () => `Ruby CPU of ${pool.processes} process(es) ${pct(gvlUtil)} (one core each at most)`],
      [hostsUtil, () => [...pool.hosts].map(hostNote).join(', ')],
    ];
    components.push(
      limitComponent(`sidekiq-process:${pool.label}`, 'sidekiq-process', limits, maxUtil, {
        explain,
        demandPaths: paths(() => queueLoads.flatMap((q) => q.demandPaths())),
      }),
    );
  });

  // Puma: WEB_CONCURRENCY processes × MAX_THREADS threads.
  {
    const puma = infra.puma;
    const threads = puma.webConcurrency * puma.maxThreads;
    const gvlUtil = webCpu / puma.webConcurrency;
    const util = hostUtil(puma.host);
    const stretch = cpuStretch(Math.max(gvlUtil, util));
    const rate = peak * sumRate(workload.web, () => 1);
    const busy = peak * sumRate(workload.web, (w) => w.cpuSec * stretch + w.waitSec);
    const serviceTimeSec = rate > 0 ? busy / rate : 0;
    const waits =
      Number.isFinite(stretch) && rate > 0
        ? waitModel(
            [{ queue: 'web', weight: 1, arrivalRatePerSec: rate, serviceTimeSec }],
            threads,
            percentile,
          )
        : null;
    const threadUtil = waits
      ? waits.utilization
      : (peak * sumRate(workload.web, (w) => w.cpuSec + w.waitSec)) / threads;
    const response =
      rate === 0 ? 0 : waits ? (waits.perQueue[0]?.percentileWaitSec ?? 0) + serviceTimeSec : Infinity;
    components.push(
      limitComponent(
        'web',
        'web',
        [
          [
            threadUtil,
            () =>
              `Puma ${threads} threads (WEB_CONCURRENCY ${puma.webConcurrency} × MAX_THREADS ${puma.maxThreads}) ${pct(threadUtil)} busy`,
          ],
          [gvlUtil, () => `Ruby CPU of ${puma.webConcurrency} Puma worker(s) ${pct(gvlUtil)}`],
          [util, () => hostNote(puma.host)],
        ],
        maxUtil,
        {
          latencySec: response,
          latencyLimitSec: slo.webResponseSec,
          latencyNote: () => `p${percentile} response ${secs(response)} (limit ${secs(slo.webResponseSec)})`,
          explain,
          demandPaths: paths(() => workload.web.map((w) => `serviceDemands.web.${w.endpoint}`)),
        },
      ),
    );
  }

  // PostgreSQL behind its connection pool: cores and server connections both bound it.
  {
    const pg = infra.postgres;
    const clients =
      infra.puma.webConcurrency * infra.puma.maxThreads +
      infra.sidekiq.reduce((n, u) => n + u.processes * u.dbPool, 0) +
      infra.streaming.processes * infra.streaming.dbPoolPerProcess;
    const serverConnections = pg.pgbouncer
      ? Math.min(pg.pgbouncer.poolSize, pg.maxConnections)
      : pg.maxConnections;
    const busyConnections = primaryDbSec * profile.serviceDemands.postgresConnectionHoldFactor;
    const cpuUtil = primaryDbSec / pg.cores;
    const sharesHost =
      infra.hosts.find((h) => h.name === pg.host)?.services.some((s) => s !== 'postgres') ?? false;
    const limits: Limit[] = [
      [cpuUtil, () => `PostgreSQL CPU ${pct(cpuUtil)} of ${pg.cores} cores`],
      [
        busyConnections / serverConnections,
        () =>
          `${busyConnections.toFixed(1)} busy of ${serverConnections} server connections${pg.pgbouncer ? ' (PgBouncer default_pool_size)' : ' (max_connections)'}`,
      ],
    ];
    if (sharesHost) limits.push([hostUtil(pg.host), () => hostNote(pg.host)]);
    const configLimit = pg.pgbouncer ? pg.pgbouncer.maxClientConn : pg.maxConnections;
    const overbooked = clients > configLimit;
    const state = limitComponent('postgres', 'postgres', limits, maxUtil, {
      explain,
      demandPaths: paths(() => [
        'serviceDemands.postgresConnectionHoldFactor',
        ...workload.jobs.map((j) => `serviceDemands.jobs.${j.jobClass}`),
        ...primaryWeb.map((w) => `serviceDemands.web.${w.endpoint}`),
      ]),
    });
    if (overbooked) {
      state.broken = true;
      if (explain)
        state.binding = `clients may open ${clients} connections (Puma + Sidekiq DB_POOL + streaming) but ${pg.pgbouncer ? 'PgBouncer max_client_conn' : 'max_connections'} is ${configLimit}; ${state.binding}`;
    }
    components.push(state);
    if (replica) {
      const replicaUtil =
        (peak *
          sumRate(
            workload.web.filter((w) => w.readsReplica),
            (w) => w.dbSec,
          )) /
        replica.cores;
      components.push(
        limitComponent(
          'postgres:replica',
          'postgres',
          [[replicaUtil, () => `read replica CPU ${pct(replicaUtil)} of ${replica.cores} cores`]],
          maxUtil,
          {
            explain,
            demandPaths: paths(() =>
              workload.web.filter((w) => w.readsReplica).map((w) => `serviceDemands.web.${w.endpoint}`),
            ),
          },
        ),
      );
    }
  }

  // Streaming: one Node.js process per PORT.
  {
    const s = infra.streaming;
    const connections = peak * workload.streaming.meanConnections;
    const connUtil = connections / (s.processes * s.maxConnectionsPerProcess);
    const cpuUtil = streamingCpu / s.processes;
    components.push(
      limitComponent(
        'streaming',
        'streaming',
        [
          [
            connUtil,
            () =>
              `${connections.toFixed(0)} connections at peak of ${s.processes} × ${s.maxConnectionsPerProcess.toFixed(0)}`,
          ],
          [cpuUtil, () => `event loop CPU ${pct(cpuUtil)}`],
          [hostUtil(s.host), () => hostNote(s.host)],
        ],
        maxUtil,
        {
          explain,
          demandPaths: [
            'serviceDemands.streamingCpuSecPerEvent',
            'infrastructure.streaming.maxConnectionsPerProcess',
          ],
        },
      ),
    );
  }

  // Redis: home feeds (capped at 800 entries per feed holder) and queue backlogs.
  {
    const r = infra.redis;
    const MB = 1e6;
    const feedsMB =
      (workload.feedHolders * HOME_FEED_MAX_ITEMS * profile.serviceDemands.redisBytesPerFeedEntry) / MB;
    const backlog = queueBacklogJobs.reduce((a, b) => a + b, 0);
    const backlogMB = (backlog * profile.serviceDemands.redisBytesPerQueuedJob) / MB;
    const baseOnMain = r.cacheMaxmemoryMB === null ? r.baseUsageMB : 0;
    const usedMB = baseOnMain + feedsMB + backlogMB;
    if (withSidekiqWaits)
      components.push(
        limitComponent(
          'redis',
          'redis',
          [
            [
              usedMB / r.maxmemoryMB,
              () =>
                `${usedMB.toFixed(0)} MB of maxmemory ${r.maxmemoryMB} MB (home feeds ${feedsMB.toFixed(0)} MB, queues ${Number.isFinite(backlogMB) ? backlogMB.toFixed(0) : 'unbounded'} MB)`,
            ],
          ],
          maxUtil,
          {
            explain,
            demandPaths: [
              'serviceDemands.redisBytesPerFeedEntry',
              'serviceDemands.redisBytesPerQueuedJob',
              'infrastructure.redis.baseUsageMB',
            ],
          },
        ),
      );
    if (r.cacheMaxmemoryMB !== null) {
      components.push(
        limitComponent(
          'redis:cache',
          'redis',
          [
            [
              r.baseUsageMB / r.cacheMaxmemoryMB,
              () => `cache ${r.baseUsageMB.toFixed(0)} MB of maxmemory ${r.cacheMaxmemoryMB} MB`,
            ],
          ],
          maxUtil,
          { explain, demandPaths: ['infrastructure.redis.baseUsageMB'] },
        ),
      );
    }
  }

  // Storage: the media disk or bucket quota, keeping the headroom free.
  {
    const st = infra.storage;
    const util = st.capacityGB === null ? 0 : storage.usedGB / st.capacityGB;
    const limit = 1 - slo.storageHeadroom;
    const what = () =>
      `${storage.usedGB.toFixed(0)} GB used (local ${storage.localMediaGB.toFixed(0)}, remote cache ${storage.remoteMediaCacheGB.toFixed(0)}, cards ${storage.previewCardsGB.toFixed(0)}${st.databaseOnSameDisk ? `, database ${storage.databaseGB.toFixed(0)}` : ''} GB)`;
    components.push({
      id: 'storage',
      kind: 'storage',
      utilization: util,
      latencySec: null,
      latencyLimitSec: null,
      broken: util > limit,
      binding: !explain
        ? ''
        : st.capacityGB === null
          ? `${what()}; unbounded bucket`
          : `${what()} of ${st.capacityGB} GB (keeping ${pct(slo.storageHeadroom)} free)`,
      demandPaths: [],
    });
  }
  return components;
}

/** A utilization and, lazily, the words that explain it (the Monte Carlo never reads them). */
type Limit = [number, () => string];

/** A component limited by several utilizations: the largest binds. */
function limitComponent(
  id: string,
  kind: ComponentKind,
  limits: Limit[],
  maxUtil: number,
  extra: {
    latencySec?: number;
    latencyLimitSec?: number;
    latencyNote?: () => string;
    demandPaths: string[];
    explain: boolean;
  },
): ComponentState {
  let [utilization, binding] = limits[0]!;
  for (const [u, why] of limits) if (u > utilization) [utilization, binding] = [u, why];
  const latencySec = extra.latencySec ?? null;
  const latencyLimitSec = extra.latencyLimitSec ?? null;
  const latencyBroken = latencySec !== null && latencyLimitSec !== null && latencySec > latencyLimitSec;
  const explain = latencyBroken && extra.latencyNote && utilization <= maxUtil ? extra.latencyNote : binding;
  return {
    id,
    kind,
    utilization,
    latencySec,
    latencyLimitSec,
    broken: utilization > maxUtil || latencyBroken,
    binding: extra.explain ? explain() : '',
    demandPaths: extra.demandPaths,
  };
}

/**
 * A hand-built ForecastReport for the renderers' tests: a mid-size instance
 * (20k accounts, 4k monthly active, growing 4 % a month) on one 8-core app host
 * and a 4-core database host, one Sidekiq process at -c 25.
 *
 * Each component's utilization grows with the users; it saturates the first
 * month it passes 80 % (the SLO's maxUtilization), so the months, the
 * components' saturation dates and the Monte Carlo spread agree.
 */
import type { ComponentReport, ForecastReport, MonthReport } from '../../src/report/forecastReport.js';
import type { ComponentKind } from '../../src/model/components.js';
import type { MonthlyCost } from '../../src/model/storage.js';
import type { Recommendation } from '../../src/model/recommend.js';

export const MAX_UTILIZATION = 0.8;
export const POOL = 'sidekiq-process:default+push+ingress+mailers+pull+scheduler';

interface ComponentSpec {
  id: string;
  kind: ComponentKind;
  utilization: number;
  latencyLimitSec: number | null;
  /** Latency at zero load, grown as 1 / (1 − u); only with a limit. */
  baseLatencySec?: number;
  /** Monthly growth factor of its utilization; default GROWTH (the users'). */
  growth?: number;
  binding: (u: number) => string;
}

const pct = (u: number) => `${(u * 100).toFixed(0)}%`;

export const COMPONENTS: ComponentSpec[] = [
  {
    id: 'sidekiq-queue:default',
    kind: 'sidekiq-queue',
    utilization: 0.18,
    latencyLimitSec: 10,
    baseLatencySec: 0.05,
    binding: (u) => `default p95 latency ${pct(u)}; pool threads busy`,
  },
  {
    id: 'sidekiq-queue:push',
    kind: 'sidekiq-queue',
    utilization: 0.42,
    latencyLimitSec: 30,
    baseLatencySec: 0.4,
    binding: (u) => `push p95 latency grows; pool ${POOL.split(':')[1]} threads ${pct(u)} busy`,
  },
  {
    id: 'sidekiq-queue:ingress',
    kind: 'sidekiq-queue',
    utilization: 0.28,
    latencyLimitSec: 30,
    baseLatencySec: 0.2,
    binding: (u) => `ingress p95 latency; threads ${pct(u)} busy`,
  },
  {
    id: 'sidekiq-queue:mailers',
    kind: 'sidekiq-queue',
    utilization: 0.004,
    latencyLimitSec: 300,
    baseLatencySec: 0.001,
    binding: () => 'mailers p95 latency 1 ms (limit 300 s)',
  },
  {
    id: 'sidekiq-queue:pull',
    kind: 'sidekiq-queue',
    utilization: 0.08,
    latencyLimitSec: 600,
    baseLatencySec: 1.5,
    binding: () => 'pull p95 latency 1.6 s (limit 600 s)',
  },
  {
    id: 'sidekiq-queue:scheduler',
    kind: 'sidekiq-queue',
    utilization: 0.001,
    latencyLimitSec: 600,
    baseLatencySec: 0,
    binding: () => 'scheduler p95 latency 0 ms (limit 600 s)',
  },
  {
    id: POOL,
    kind: 'sidekiq-process',
    utilization: 0.55,
    latencyLimitSec: null,
    binding: (u) => `Ruby CPU of 1 process(es) ${pct(u)} (one core each at most)`,
  },
  {
    id: 'web',
    kind: 'web',
    utilization: 0.35,
    latencyLimitSec: 1,
    baseLatencySec: 0.16,
    binding: (u) => `Puma 15 threads (WEB_CONCURRENCY 3 × MAX_THREADS 5) ${pct(u)} busy`,
  },
  {
    id: 'postgres',
    kind: 'postgres',
    utilization: 0.62,
    latencyLimitSec: null,
    binding: (u) => `PostgreSQL CPU ${pct(u)} of 4 cores | host db`,
  },
  {
    id: 'streaming',
    kind: 'streaming',
    utilization: 0.12,
    latencyLimitSec: null,
    binding: () => '290 connections at peak of 1 × 2500',
  },
  {
    id: 'redis',
    kind: 'redis',
    utilization: 0.2,
    latencyLimitSec: null,
    growth: 1.06, // home feeds grow with the followed remote accounts too
    binding: () => '410 MB of maxmemory 2048 MB (home feeds 380 MB, queues 0 MB)',
  },
  {
    id: 'storage',
    kind: 'storage',
    utilization: 0.3,
    latencyLimitSec: null,
    growth: 1.07, // local uploads accumulate: storage outgrows the users
    binding: (u) => `${(u * 1000).toFixed(0)} GB used of 1000 GB (keeping 20% free)`,
  },
];

export function addMonths(start: string, months: number): string {
  const [y, m] = start.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

const PRICES: Record<MonthlyCost['provider'], { storagePerGBMonth: number; egressPerGB: number }> = {
  s3: { storagePerGBMonth: 0.023, egressPerGB: 0.09 },
  b2: { storagePerGBMonth: 0.006, egressPerGB: 0.01 },
  wasabi: { storagePerGBMonth: 0.0069, egressPerGB: 0 },
  r2: { storagePerGBMonth: 0.015, egressPerGB: 0 },
  minio: { storagePerGBMonth: 0.01, egressPerGB: 0 },
};
const COMPUTE_USD = 12 * 6; // 12 vCPUs at $6 per vCPU-month

export interface SampleOptions {
  horizonMonths?: number;
  start?: string;
  monteCarlo?: { draws: number; seed: number } | null;
  /** Month-0 utilization overrides by component id. */
  utilization?: Record<string, number>;
  /** Components left uncalibrated; default: every non-storage component. */
  uncalibrated?: string[];
  /** A relay active from month 0: more inbound activities, pull jobs and remote media. */
  relay?: { name: string; postsPerHour: number } | null;
  recommendations?: Recommendation[];
}

export const GROWTH = 1.04;

export function sampleReport(options: SampleOptions = {}): ForecastReport {
  const horizon = options.horizonMonths ?? 24;
  const start = options.start ?? '2026-09';
  const monteCarlo = options.monteCarlo === undefined ? { draws: 200, seed: 42 } : options.monteCarlo;
  const relay = options.relay ?? null;
  const relayPerSec = relay ? relay.postsPerHour / 3600 : 0;
  const specs = COMPONENTS.map((c) => ({ ...c, utilization: options.utilization?.[c.id] ?? c.utilization }));
  const date = (m: number) => addMonths(start, m);

  const utilAt = (spec: ComponentSpec, m: number) => spec.utilization * (spec.growth ?? GROWTH) ** m;
  const latencyAt = (spec: ComponentSpec, u: number) =>
    spec.latencyLimitSec === null ? null : u >= 1 ? null : (spec.baseLatencySec ?? 0) / (1 - u);

  const months: MonthReport[] = [];
  for (let m = 0; m < horizon; m++) {
    const g = GROWTH ** m;
    const mean = (x: number) => x * g;
    const queues: MonthReport['queues'] = [
      { queue: 'default', jobsPerSec: mean(6.5) },
      { queue: 'push', jobsPerSec: mean(14.2) },
      { queue: 'ingress', jobsPerSec: mean(9.1) + relayPerSec },
      { queue: 'mailers', jobsPerSec: mean(0.0009) },
      { queue: 'pull', jobsPerSec: mean(2.1) + relayPerSec * 0.4 },
      { queue: 'scheduler', jobsPerSec: 0.002 },
    ].map((q) => ({
      ...q,
      queue: q.queue as MonthReport['queues'][number]['queue'],
      peakJobsPerSec: q.jobsPerSec * 2,
    }));
    const remoteMediaCacheGB = 180 * g + (relay ? relayPerSec * 86400 * 0.3 * 1.4 * 0.0007 * 14 : 0);
    const localMediaGB = 150 + 42 * m * (1 + m * 0.02);
    const previewCardsGB = 24 + 0.5 * m;
    const databaseGB = 25 + 2.1 * m * g;
    const mediaGB = localMediaGB + remoteMediaCacheGB + previewCardsGB;
    const egressGBPerMonth = 1100 * g;
    const storage = {
      localMediaGB,
      remoteMediaCacheGB,
      previewCardsGB,
      databaseGB,
      mediaGB,
      usedGB: mediaGB,
      egressGBPerMonth,
    };
    const costs: MonthlyCost[] = (Object.keys(PRICES) as MonthlyCost['provider'][]).map((provider) => {
      const storageUSD = mediaGB * PRICES[provider].storagePerGBMonth;
      const egressUSD = egressGBPerMonth * PRICES[provider].egressPerGB;
      return {
        provider,
        storageUSD,
        egressUSD,
        computeUSD: COMPUTE_USD,
        totalUSD: storageUSD + egressUSD + COMPUTE_USD,
      };
    });
    months.push({
      month: m,
      date: date(m),
      dailyActive: 1200 * g,
      monthlyActive: 4000 * g,
      activeRelays: relay ? [relay.name] : [],
      queues,
      webRequestsPerSec: 46.3 * g,
      inboundActivitiesPerSec: 9.1 * g + relayPerSec,
      components: specs.map((spec) => {
        const u = utilAt(spec, m);
        const latencySec = latencyAt(spec, u);
        const latencyBroken =
          spec.latencyLimitSec !== null && (latencySec === null || latencySec > spec.latencyLimitSec);
        return { id: spec.id, utilization: u, latencySec, broken: u > MAX_UTILIZATION || latencyBroken };
      }),
      storage,
      costs,
    });
  }

  const components: ComponentReport[] = specs.map((spec) => {
    const satMonth = months.find((mr) => mr.components.find((c) => c.id === spec.id)!.broken)?.month ?? null;
    // The month it would saturate were the horizon endless: the Monte Carlo spread is taken around it.
    let wouldSaturate = 0;
    while (utilAt(spec, wouldSaturate) <= MAX_UTILIZATION && wouldSaturate < 600) wouldSaturate++;
    const inHorizon = (m: number) => (m >= 0 && m < horizon ? date(m) : null);
    const p10 = monteCarlo
      ? inHorizon(Math.max(0, wouldSaturate - 3))
      : satMonth === null
        ? null
        : date(satMonth);
    const p90 = monteCarlo ? inHorizon(wouldSaturate + 5) : satMonth === null ? null : date(satMonth);
    const first = months[0]!.components.find((c) => c.id === spec.id)!;
    return {
      id: spec.id,
      kind: spec.kind,
      utilization: first.utilization,
      latencySec: first.latencySec,
      latencyLimitSec: spec.latencyLimitSec,
      binding: spec.binding(first.utilization),
      calibrated: options.uncalibrated ? !options.uncalibrated.includes(spec.id) : spec.kind === 'storage',
      saturation:
        satMonth === null
          ? null
          : {
              month: satMonth,
              date: date(satMonth),
              p10Date: p10,
              p50Date: date(satMonth),
              p90Date: p90,
              reason: spec.binding(utilAt(spec, satMonth)),
            },
      saturationProbability: monteCarlo ? (satMonth !== null ? 0.9 : p10 !== null ? 0.15 : 0) : null,
      p10Date: p10,
      p50Date: satMonth === null ? null : date(satMonth),
      pool: spec.kind === 'sidekiq-queue' ? POOL : null,
    };
  });

  const defaultRecommendations: Recommendation[] = [];
  const satOf = (id: string) => components.find((c) => c.id === id)?.saturation ?? null;
  const pg = satOf('postgres');
  if (pg) {
    defaultRecommendations.push({
      componentId: 'postgres',
      componentIds: ['postgres'],
      saturationDate: pg.date,
      knob: 'PgBouncer',
      change:
        'put PgBouncer in transaction mode in front of PostgreSQL (default_pool_size 40, max_client_conn 500, PREPARED_STATEMENTS=false)',
      newSaturationDate: null,
      extraMonthlyUSD: 0,
      costItems: [],
    });
  }
  const pool = satOf(POOL);
  if (pool) {
    defaultRecommendations.push({
      componentId: POOL,
      componentIds: [POOL],
      saturationDate: pool.date,
      knob: 'extra Sidekiq process',
      change:
        'add a Sidekiq process `sidekiq -c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull` (DB_POOL=25) on host app, with one more vCPU there',
      newSaturationDate: date(Math.min(horizon - 1, pool.month + 9)),
      extraMonthlyUSD: 6,
      costItems: [{ unit: 'vCPU', quantity: 1, usdPerUnitMonth: 6, price: 'prices.computePerVcpuMonth' }],
    });
  }
  const storage = satOf('storage');
  if (storage) {
    defaultRecommendations.push({
      componentId: 'storage',
      componentIds: ['storage'],
      saturationDate: storage.date,
      knob: 'tootctl media remove --days',
      change:
        'remove cached remote media after 7 days (`tootctl media remove --days 7` daily, or media_cache_retention_period)',
      newSaturationDate: date(Math.min(horizon - 1, storage.month + 4)),
      extraMonthlyUSD: 0,
      costItems: [],
    });
  }
  const web = satOf('web');
  if (web) {
    defaultRecommendations.push({
      componentId: 'web',
      componentIds: ['web'],
      saturationDate: web.date,
      knob: 'host app cores',
      change: 'give host app 16 vCPUs instead of 8',
      newSaturationDate: null,
      extraMonthlyUSD: 48,
      costItems: [{ unit: 'vCPU', quantity: 8, usdPerUnitMonth: 6, price: 'prices.computePerVcpuMonth' }],
    });
  }

  return {
    profile: 'mid-size default (20k accounts, 4k monthly active)',
    start,
    horizonMonths: horizon,
    method: 'analytic',
    monteCarlo,
    provider: 'minio',
    slo: { latencyPercentile: 95, maxUtilization: 0.8, storageHeadroom: 0.2 },
    components,
    months,
    assumptions: [
      { path: 'accounts.totalLocal', value: 20000, source: 'profile' },
      { path: 'accounts.monthlyActive', value: 4000, source: 'profile' },
      { path: 'accounts.dailyActive', value: 1200, source: 'assumption', range: [800, 1800] },
      { path: 'activity.postsPerDay', value: 1.5, source: 'assumption', range: [0.8, 3] },
      { path: 'activity.peakToMeanRatio', value: 2, source: 'assumption', range: [1.5, 3] },
      {
        path: 'graph.inbound.remoteAccountsFollowed',
        value: 30000,
        source:
          'assumption; masto.host: storage growth is driven by remote accounts followed (mastodon-facts.md)',
        range: [15000, 60000],
      },
      { path: 'media.localImageBytes', value: 1200000, source: 'assumption', range: [600000, 2500000] },
      {
        path: 'media.egressBytesPerActiveUserPerDay',
        value: 30000000,
        source: 'assumption',
        range: [10000000, 80000000],
      },
      { path: 'media.currentLocalMediaGB', value: 150, source: 'profile' },
      {
        path: 'serviceDemands.jobs.FeedInsertWorker.cpuSec',
        value: 0.0005,
        source: 'calibration run/2026-08-14',
        range: [0.0004, 0.0007],
      },
      {
        path: 'serviceDemands.jobs.ActivityPub::DeliveryWorker.waitSec',
        value: 0.35,
        source: 'assumption',
        range: [0.1, 1.5],
      },
      {
        path: 'growth.monthlyActiveUserGrowth',
        value: 0.04,
        source: 'profile | admin estimate',
        range: [0.01, 0.08],
      },
    ],
    recommendations: options.recommendations ?? defaultRecommendations,
    uncalibrated: options.uncalibrated ?? components.filter((c) => c.kind !== 'storage').map((c) => c.id),
  };
}

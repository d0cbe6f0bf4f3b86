import { isAssumption, listQuantities } from '../shared/quantity.js';
import type { Profile } from '../profile/schema.js';
import { addMonths, type Forecast } from '../model/forecast.js';
import { QUEUES, type QueueName } from '../mastodon/classes.js';
import type { Recommendation } from '../model/recommend.js';
import { componentId, type ComponentKind } from '../model/components.js';
import { demandPathsOf } from '../model/demandPaths.js';
import { bindingText } from './binding.js';
import type { MonthlyCost, Provider, StorageState } from '../model/storage.js';
import type { SaturationSpread } from '../model/uncertainty.js';

/** The forecast JSON contract (other tools and tests rely on it). */
export interface ForecastReport {
  profile: string;
  start: string;
  horizonMonths: number;
  method: 'analytic' | 'simulate';
  monteCarlo: { draws: number; seed: number } | null;
  /** The storage provider the instance uses (budget tables mark it). */
  provider: Provider;
  /** What "saturated" means for this profile. */
  slo: { latencyPercentile: number; maxUtilization: number; storageHeadroom: number };
  components: ComponentReport[];
  months: MonthReport[];
  assumptions: { path: string; value: number; source: string; range?: [number, number] }[];
  recommendations: Recommendation[];
  /** Components whose service demands are still assumptions, not measurements. */
  uncalibrated: string[];
}

export interface ComponentReport {
  id: string;
  kind: ComponentKind;
  /** This month's (month 0) utilization at the peak hour. */
  utilization: number;
  latencySec: number | null;
  latencyLimitSec: number | null;
  binding: string;
  calibrated: boolean;
  saturation: {
    month: number;
    date: string;
    p10Date: string | null;
    p50Date: string | null;
    p90Date: string | null;
    reason: string;
  } | null;
  /** Share of Monte Carlo draws that saturate within the horizon (null without Monte Carlo). */
  saturationProbability: number | null;
  /** Earliest plausible date (P10 of the draws) even when the central forecast does not saturate. */
  p10Date: string | null;
  /**
   * Median date of the draws (null when fewer than half saturate within the horizon), whatever the central
   * forecast says.
   */
  p50Date: string | null;
  /**
   * A Sidekiq queue's pool (its `sidekiq-process` component id), null for other components. A queue's
   * saturation and draws count only where it breaks on its own; its pool's overload is the pool's.
   */
  pool: string | null;
}

export interface MonthReport {
  month: number;
  date: string;
  dailyActive: number;
  monthlyActive: number;
  activeRelays: string[];
  queues: { queue: QueueName; jobsPerSec: number; peakJobsPerSec: number }[];
  webRequestsPerSec: number;
  inboundActivitiesPerSec: number;
  components: { id: string; utilization: number; latencySec: number | null; broken: boolean }[];
  storage: StorageState;
  costs: MonthlyCost[];
}

/** JSON has no Infinity: an unbounded latency is reported as null. */
const finiteOrNull = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);

export function buildForecastReport(input: {
  profile: Profile;
  result: Forecast;
  peakToMeanRatio: number;
  spread: Map<string, SaturationSpread> | null;
  recommendations: Recommendation[];
  start: string;
  method: 'analytic' | 'simulate';
  monteCarlo: { draws: number; seed: number } | null;
}): ForecastReport {
  const { profile, result, spread, start } = input;
  const quantities = listQuantities(profile);
  const sourceOf = new Map(quantities.map((q) => [q.path, q.quantity.source]));
  const isAssumed = (path: string) =>
    [...sourceOf].some(([p, source]) => (p === path || p.startsWith(`${path}.`)) && isAssumption(source));
  const dateOf = (m: number | null) => (m === null ? null : addMonths(start, m));
  const first = result.months[0]!;
  const hasReadReplica = Boolean(profile.infrastructure.postgres.readReplica);

  const components: ComponentReport[] = first.components.map((c) => {
    const sat = result.saturation.get(c.id) ?? null;
    const s = spread?.get(c.id);
    return {
      id: c.id,
      kind: c.kind,
      utilization: c.utilization,
      latencySec: finiteOrNull(c.latencySec),
      latencyLimitSec: c.latencyLimitSec,
      binding: bindingText(c.binding),
      calibrated: !demandPathsOf(c.ref, first.workload, hasReadReplica).some(isAssumed),
      saturation: sat && {
        month: sat.month,
        date: sat.date,
        p10Date: s ? dateOf(s.p10Month) : sat.date,
        p50Date: s ? dateOf(s.p50Month) : sat.date,
        p90Date: s ? dateOf(s.p90Month) : sat.date,
        reason: bindingText(sat.binding),
      },
      saturationProbability: s ? s.probabilityWithinHorizon : null,
      p10Date: s ? dateOf(s.p10Month) : (sat?.date ?? null),
      p50Date: s ? dateOf(s.p50Month) : (sat?.date ?? null),
      pool:
        c.binding.kind === 'queue-wait'
          ? componentId({ kind: 'sidekiq-process', queues: c.binding.pool })
          : null,
    };
  });

  const months: MonthReport[] = result.months.map((m) => ({
    month: m.month,
    date: m.date,
    dailyActive: m.dailyActive,
    monthlyActive: m.monthlyActive,
    activeRelays: m.activeRelays,
    queues: QUEUES.map((queue) => {
      const jobsPerSec = m.workload.jobs
        .filter((j) => j.queue === queue)
        .reduce((a, j) => a + j.ratePerSec, 0);
      return { queue, jobsPerSec, peakJobsPerSec: jobsPerSec * input.peakToMeanRatio };
    }),
    webRequestsPerSec: m.workload.web
      .filter((w) => w.endpoint !== 'inbox-cold-actor')
      .reduce((a, w) => a + w.ratePerSec, 0),
    inboundActivitiesPerSec:
      m.workload.jobs.find((j) => j.jobClass === 'ActivityPub::ProcessingWorker')?.ratePerSec ?? 0,
    components: m.components.map((c) => ({
      id: c.id,
      utilization: c.utilization,
      latencySec: finiteOrNull(c.latencySec),
      broken: c.broken,
    })),
    storage: m.storage,
    costs: m.costs,
  }));

  return {
    profile: profile.name,
    start,
    horizonMonths: result.months.length,
    method: input.method,
    monteCarlo: input.monteCarlo,
    provider: profile.infrastructure.storage.provider,
    slo: {
      latencyPercentile: profile.slo.latencyPercentile,
      maxUtilization: profile.slo.maxUtilization,
      storageHeadroom: profile.slo.storageHeadroom,
    },
    components,
    months,
    assumptions: quantities.map(({ path, quantity: q }) => ({
      path,
      value: q.value,
      source: q.source,
      ...(q.low !== q.high ? { range: [q.low, q.high] as [number, number] } : {}),
    })),
    recommendations: input.recommendations,
    uncalibrated: components.filter((c) => !c.calibrated && c.kind !== 'storage').map((c) => c.id),
  };
}

import {
  breaksWithItsPool,
  dependsOnSidekiqWaits,
  type Binding,
  type ComponentRef,
  type ComponentState,
} from './components.js';
import { planInfrastructure } from './infrastructure.js';
import { evaluateMonth } from './stations.js';
import { monthlyCosts, storageAfter, type MonthlyCost, type StorageState } from './storage.js';
import { analyticWaits, type WaitModel } from './waitModel.js';
import { workloadAt, type ModelProfile, type Workload } from './workload.js';

export interface ForecastOptions {
  months: number;
  /** Calendar month of month 0, as "YYYY-MM" (the model has no clock; the CLI passes today's). */
  start: string;
  waitModel?: WaitModel;
}

export interface MonthResult {
  month: number;
  date: string;
  dailyActive: number;
  monthlyActive: number;
  activeRelays: string[];
  workload: Workload;
  components: ComponentState[];
  storage: StorageState;
  costs: MonthlyCost[];
}

export interface Saturation {
  month: number;
  date: string;
  /** What broke it that month. */
  binding: Binding;
}

export interface Forecast {
  months: MonthResult[];
  /**
   * First month each component breaks its SLO or utilization limit, or null within the horizon. A Sidekiq
   * queue counts only when it breaks on its own, not when its whole pool is overloaded (breaksWithItsPool):
   * the pool's component carries that.
   */
  saturation: Map<string, Saturation | null>;
}

/** "YYYY-MM" plus `months` months. */
export function addMonths(start: string, months: number): string {
  const match = /^(\d{4})-(\d{2})$/.exec(start);
  if (!match) throw new RangeError(`start must be YYYY-MM, got "${start}"`);
  const index = Number(match[1]) * 12 + (Number(match[2]) - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

const brokenOnItsOwn = (c: ComponentState) => c.broken && !breaksWithItsPool(c.binding);

/**
 * Month-by-month forecast over the horizon: workload from the profile (growth,
 * relays starting at their month), each component judged at the peak hour,
 * storage accumulated, and the first month each component breaks.
 */
export function forecast(profile: ModelProfile, options: ForecastOptions): Forecast {
  const waitModel = options.waitModel ?? analyticWaits;
  const workloads: Workload[] = [];
  const months: MonthResult[] = [];
  const saturation = new Map<string, Saturation | null>();
  const plan = planInfrastructure(profile);
  for (let m = 0; m < options.months; m++) {
    const workload = workloadAt(profile, m);
    workloads.push(workload);
    const storage = storageAfter(profile, workloads);
    const components = evaluateMonth(profile, plan, workload, storage, waitModel);
    const date = addMonths(options.start, m);
    for (const c of components) {
      if (!saturation.has(c.id)) saturation.set(c.id, null);
      if (brokenOnItsOwn(c) && saturation.get(c.id) === null)
        saturation.set(c.id, { month: m, date, binding: c.binding });
    }
    months.push({
      month: m,
      date,
      dailyActive: workload.dailyActive,
      monthlyActive: workload.monthlyActive,
      activeRelays: workload.activeRelays,
      workload,
      components,
      storage,
      costs: monthlyCosts(profile, storage),
    });
  }
  return { months, saturation };
}

/**
 * Only the first month each component breaks, for the Monte Carlo. With
 * non-negative growth every load only rises month by month (relays only add),
 * so "broken" is monotone in the month and a shared bisection finds every
 * first month with a few evaluations instead of one per month; with shrinking
 * users it falls back to the full month-by-month scan.
 */
export function firstBrokenMonths(
  profile: ModelProfile,
  options: ForecastOptions,
): Map<string, number | null> {
  const waitModel = options.waitModel ?? analyticWaits;
  const plan = planInfrastructure(profile);
  const workloads = Array.from({ length: options.months }, (_, m) => workloadAt(profile, m));
  const judge = (m: number, withSidekiqWaits: boolean) =>
    evaluateMonth(profile, plan, workloads[m]!, storageAfter(profile, workloads.slice(0, m + 1)), waitModel, {
      withSidekiqWaits,
    });
  if (profile.growth.monthlyActiveUserGrowth < 0)
    return scanFirstBroken(options.months, (m) => judge(m, true));
  return bisectFirstBroken(options.months - 1, judge);
}

/** First broken month of each component, month by month. */
function scanFirstBroken(months: number, judge: (m: number) => ComponentState[]): Map<string, number | null> {
  const first = new Map<string, number | null>();
  for (let m = 0; m < months; m++) {
    for (const c of judge(m)) {
      if (!first.has(c.id)) first.set(c.id, null);
      if (brokenOnItsOwn(c) && first.get(c.id) === null) first.set(c.id, m);
    }
  }
  return first;
}

/**
 * First broken month of each component by bisection over [0, last], "broken" being monotone in the month; a
 * queue whose first broken month is its pool's overload does not break on its own (null).
 */
function bisectFirstBroken(
  last: number,
  judge: (m: number, withSidekiqWaits: boolean) => ComponentState[],
): Map<string, number | null> {
  // Full evaluations are kept: a cheap question about a month already judged in full costs nothing.
  const full = new Map<number, Map<string, boolean>>();
  const withPool = new Map<number, Set<string>>();
  const refs = new Map<string, ComponentRef>();
  const brokenAt = (m: number, withSidekiqWaits: boolean): Map<string, boolean> => {
    const known = full.get(m);
    if (known) return known;
    const components = judge(m, withSidekiqWaits);
    for (const c of components) refs.set(c.id, c.ref);
    const broken = new Map(components.map((c) => [c.id, c.broken]));
    if (withSidekiqWaits) {
      full.set(m, broken);
      withPool.set(m, new Set(components.filter((c) => breaksWithItsPool(c.binding)).map((c) => c.id)));
    }
    return broken;
  };
  const first = new Map<string, number | null>();
  const atStart = brokenAt(0, true);
  const atEnd = last > 0 ? brokenAt(last, true) : atStart;
  const pending: string[] = [];
  // Queues are judged with Sidekiq waits: the month found for one has been evaluated in full.
  const found = (id: string, m: number) => first.set(id, withPool.get(m)?.has(id) ? null : m);
  for (const [id, broken] of atStart) {
    if (broken) found(id, 0);
    else if (!atEnd.get(id)) first.set(id, null);
    else pending.push(id);
  }
  // Invariant: every id in `ids` is intact at `lo` and broken at `hi`.
  const search = (lo: number, hi: number, ids: string[], withSidekiqWaits: boolean): void => {
    if (ids.length === 0) return;
    if (hi - lo === 1) {
      for (const id of ids) found(id, hi);
      return;
    }
    const mid = (lo + hi) >> 1;
    const atMid = brokenAt(mid, withSidekiqWaits);
    search(
      lo,
      mid,
      ids.filter((id) => atMid.get(id)),
      withSidekiqWaits,
    );
    search(
      mid,
      hi,
      ids.filter((id) => !atMid.get(id)),
      withSidekiqWaits,
    );
  };
  // Storage, streaming, Puma and PostgreSQL need no Sidekiq waits: search them with the cheaper pass.
  const needsWaits = (id: string) => dependsOnSidekiqWaits(refs.get(id)!);
  search(0, last, pending.filter(needsWaits), true);
  search(
    0,
    last,
    pending.filter((id) => !needsWaits(id)),
    false,
  );
  return first;
}

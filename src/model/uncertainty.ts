import { quantile } from 'simple-statistics';
import type { Profile } from '../profile/schema.js';
import { resolveQuantities } from '../shared/quantity.js';
import { firstBrokenMonths, type ForecastOptions } from './forecast.js';
import { seededRng, triangular, type Rng } from '../shared/random.js';
import type { ModelProfile } from './workload.js';

export interface SaturationSpread {
  /** Share of draws in which the component saturates within the horizon. */
  probabilityWithinHorizon: number;
  /** Saturation month at P10/P50/P90 of the draws; null means after the horizon. */
  p10Month: number | null;
  p50Month: number | null;
  p90Month: number | null;
}

/** Saturation month of each component per draw; +∞ when it does not saturate within the horizon. */
export type SaturationMonths = Map<string, number[]>;

/**
 * Draws per random stream: chunk k always uses stream k, so results do not depend on how chunks are spread
 * over workers.
 */
export const DRAWS_PER_CHUNK = 50;

type Horizon = Omit<ForecastOptions, 'waitModel'>;

/**
 * One draw: every quantity with a range sampled from a triangular
 * distribution with the stated value as its mode. Positive ranges are
 * sampled on a log scale: uncertainty about rates and service times is
 * multiplicative ("half to twice"), and a linear triangle over [v/2, 3v] would
 * put the median well above v and make the central forecast an outlier.
 */
export function drawProfile(profile: Profile, rng: Rng): ModelProfile {
  return resolveQuantities(profile, (q) => {
    if (q.low === q.high) return q.value;
    if (q.low > 0) return Math.exp(triangular(rng, Math.log(q.low), Math.log(q.value), Math.log(q.high)));
    return triangular(rng, q.low, q.value, q.high);
  });
}

/** Saturation months for chunk `chunk` of the draws (draws chunk·50 … chunk·50 + count − 1). */
export function chunkSaturationMonths(
  profile: Profile,
  seed: number,
  chunk: number,
  count: number,
  horizon: Horizon,
): SaturationMonths {
  const rng = seededRng(seed, chunk);
  const monthsById: SaturationMonths = new Map();
  for (let d = 0; d < count; d++) {
    for (const [id, month] of firstBrokenMonths(drawProfile(profile, rng), horizon)) {
      const list = monthsById.get(id);
      if (list) list.push(month ?? Infinity);
      else monthsById.set(id, [month ?? Infinity]);
    }
  }
  return monthsById;
}

/** The chunks a run of `draws` draws is cut into: [chunk index, draws in it]. */
export function chunksOf(draws: number): [number, number][] {
  const chunks: [number, number][] = [];
  for (let start = 0, k = 0; start < draws; start += DRAWS_PER_CHUNK, k++) {
    chunks.push([k, Math.min(DRAWS_PER_CHUNK, draws - start)]);
  }
  return chunks;
}

/** Concatenate chunk results in chunk order. */
export function mergeSaturationMonths(parts: readonly SaturationMonths[]): SaturationMonths {
  const merged: SaturationMonths = new Map();
  for (const part of parts) {
    for (const [id, months] of part) {
      const list = merged.get(id);
      if (list) list.push(...months);
      else merged.set(id, months.slice());
    }
  }
  return merged;
}

/**
 * P10, P50 and P90 of each component's saturation month. A draw that never
 * saturates counts as "after the horizon" (+∞), so P90 can be null while P10
 * is a date.
 */
export function spreadOf(monthsById: SaturationMonths): Map<string, SaturationSpread> {
  const spread = new Map<string, SaturationSpread>();
  for (const [id, unsorted] of monthsById) {
    const months = unsorted.slice().sort((a, b) => a - b);
    const at = (p: number) => {
      const m = quantile(months, p);
      return Number.isFinite(m) ? Math.round(m) : null;
    };
    spread.set(id, {
      probabilityWithinHorizon: months.filter(Number.isFinite).length / months.length,
      p10Month: at(0.1),
      p50Month: at(0.5),
      p90Month: at(0.9),
    });
  }
  return spread;
}

/**
 * Monte Carlo over the profile's ranges: `draws` forecasts from seeded
 * streams, giving P10, P50 and P90 of each component's saturation month.
 */
export function saturationSpread(
  profile: Profile,
  draws: number,
  seed: number,
  horizon: Horizon,
): Map<string, SaturationSpread> {
  return spreadOf(
    mergeSaturationMonths(
      chunksOf(draws).map(([k, n]) => chunkSaturationMonths(profile, seed, k, n, horizon)),
    ),
  );
}

import { resolveQuantities } from '../shared/quantity.js';
import type { Profile } from '../profile/schema.js';
import { forecast } from '../model/forecast.js';
import { seededRng } from '../shared/random.js';
import { recommend } from '../model/recommend.js';
import { chunkSaturationMonths, chunksOf, mergeSaturationMonths, spreadOf } from '../model/uncertainty.js';
import { simulatedWaits } from '../model/waitModel.js';
import { buildForecastReport, type ForecastReport } from './forecastReport.js';

export interface ForecastSettings {
  months: number;
  start: string;
  method: 'analytic' | 'simulate';
  /** Monte Carlo draws; 0 skips the uncertainty bands. */
  draws: number;
  seed: number;
  /** Told the Monte Carlo draws done so far, after each chunk (a progress line). */
  onDraws?: (done: number) => void;
}

/**
 * Profile → forecast report: the central forecast (analytic, or the
 * discrete-event simulation), Monte Carlo bands (always analytic: a thousand
 * simulated horizons would take minutes), and recommendations.
 */
export function forecastReport(profile: Profile, settings: ForecastSettings): ForecastReport {
  const model = resolveQuantities(profile);
  const horizon = { months: settings.months, start: settings.start };
  const waitModel = settings.method === 'simulate' ? simulatedWaits(seededRng(settings.seed)) : undefined;
  const result = forecast(model, { ...horizon, waitModel });
  const spread = settings.draws > 0 ? monteCarlo(profile, settings, horizon) : null;
  return buildForecastReport({
    profile,
    result,
    peakToMeanRatio: model.activity.peakToMeanRatio,
    spread,
    recommendations: recommend(model, result, horizon),
    start: settings.start,
    method: settings.method,
    monteCarlo: settings.draws > 0 ? { draws: settings.draws, seed: settings.seed } : null,
  });
}

/** The model's saturationSpread, a chunk at a time, saying how far it got (same chunks, same streams). */
function monteCarlo(
  profile: Profile,
  settings: ForecastSettings,
  horizon: { months: number; start: string },
) {
  let done = 0;
  const parts = chunksOf(settings.draws).map(([k, n]) => {
    const part = chunkSaturationMonths(profile, settings.seed, k, n, horizon);
    done += n;
    settings.onDraws?.(done);
    return part;
  });
  return spreadOf(mergeSaturationMonths(parts));
}

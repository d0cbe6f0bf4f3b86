import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { progress } from '../shared/progress.js';
import { applyCalibration, loadCalibration } from '../calibrate/calibrationFile.js';
import { loadProfile } from '../profile/load.js';
import { applyOverrides, parseRelayFlag } from '../profile/overrides.js';
import type { Profile } from '../profile/schema.js';
import { forecastCsv } from '../report/csv.js';
import { forecastMarkdown } from '../report/markdown.js';
import { forecastReport, type ForecastSettings } from '../report/pipeline.js';
import { currentMonth, emit } from './output.js';

/** Options shared by the commands that run a forecast. */
export function forecastOptions<T>(y: Argv<T>) {
  return y
    .option('profile', {
      type: 'string',
      describe: 'Instance profile JSON (default: the embedded mid-size profile)',
    })
    .option('calibration', {
      type: 'string',
      describe: 'Measured service demands JSON; replaces assumptions',
    })
    .option('months', { type: 'number', default: 24, describe: 'Horizon in months' })
    .option('start', { type: 'string', describe: 'Calendar month of month 0, YYYY-MM (default: this month)' })
    .option('growth', { type: 'number', describe: 'Monthly growth of active users, e.g. 0.05' })
    .option('draws', {
      type: 'number',
      default: 1000,
      describe: 'Monte Carlo draws for P10/P50/P90 (0 = none)',
    })
    .option('seed', { type: 'number', default: 1, describe: 'Seed of the random generator' })
    .option('method', {
      choices: ['analytic', 'simulate'] as const,
      default: 'analytic' as const,
      describe: 'Queue waits from Erlang C or from the discrete-event simulation',
    });
}

export interface ForecastArgs {
  profile?: string;
  calibration?: string;
  months: number;
  start?: string;
  growth?: number;
  draws: number;
  seed: number;
  method: 'analytic' | 'simulate';
  relay?: string[];
}

/** Run `work` with a progress line on stderr for its Monte Carlo draws (silent when it ends within a second). */
export function withDrawProgress<T>(
  what: string,
  settings: ForecastSettings,
  work: (s: ForecastSettings) => T,
): T {
  if (settings.draws === 0) return work(settings);
  const line = progress(what, settings.draws);
  try {
    return work({ ...settings, onDraws: (done) => line.update(done) });
  } finally {
    line.end();
  }
}

/** Load, calibrate and override the profile; validate the numeric flags. */
export function prepare(args: ForecastArgs): { profile: Profile; settings: ForecastSettings } {
  if (!Number.isInteger(args.months) || args.months < 1 || args.months > 120) {
    throw new InputError(`--months must be an integer from 1 to 120, got ${args.months}`);
  }
  if (!Number.isInteger(args.draws) || args.draws < 0 || args.draws > 100_000) {
    throw new InputError(`--draws must be an integer from 0 to 100000, got ${args.draws}`);
  }
  if (!Number.isInteger(args.seed)) throw new InputError(`--seed must be an integer, got ${args.seed}`);
  if (
    args.growth !== undefined &&
    !(Number.isFinite(args.growth) && args.growth > -0.5 && args.growth <= 5)
  ) {
    throw new InputError(
      `--growth must be a monthly rate between -0.5 and 5 (0.05 = 5 % a month), got ${args.growth}`,
    );
  }
  if (args.start !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(args.start)) {
    throw new InputError(`--start must be YYYY-MM, got "${args.start}"`);
  }
  const relays = (args.relay ?? []).map(parseRelayFlag);
  let profile = loadProfile(args.profile);
  if (args.calibration) {
    const calibration = loadCalibration(args.calibration);
    // Said where it cannot be missed: a testbed's demands are not a Mastodon instance's.
    if (calibration.target?.kind === 'testbed')
      process.stderr.write(
        `fedicap: warning: ${args.calibration} was measured on fedicap's testbed (${calibration.target.baseUrl}), not on a Mastodon instance; its demands describe the testbed\n`,
      );
    profile = applyCalibration(profile, calibration);
  }
  const fromProfile = profile.relays.length;
  profile = applyOverrides(profile, { growth: args.growth, relays });
  profile.relays.forEach((relay, i) => {
    if (relay.startMonth < args.months) return;
    const where =
      i < fromProfile
        ? `profile ${args.profile ?? 'embedded'}: relays.${i}.startMonth`
        : `--relay ${args.relay![i - fromProfile]}: START_MONTH`;
    throw new InputError(
      `${where}: month ${relay.startMonth} is beyond the forecast horizon (--months ${args.months} covers months 0–${args.months - 1}); the relay would never count`,
    );
  });
  return {
    profile,
    settings: {
      months: args.months,
      start: args.start ?? currentMonth(),
      method: args.method,
      draws: args.draws,
      seed: args.seed,
    },
  };
}

export function forecastCommand(y: Argv) {
  return y.command(
    'forecast',
    'Month-by-month saturation forecast, budget and recommendations',
    (c) =>
      forecastOptions(c)
        .option('relay', {
          type: 'string',
          array: true,
          describe: 'Add a relay: NAME:POSTS_PER_HOUR[:MEDIA_FRACTION[:START_MONTH]] (repeatable)',
        })
        .option('format', { choices: ['md', 'json', 'csv', 'html'] as const, default: 'md' as const })
        .option('out', {
          type: 'string',
          describe: 'Write DIR/forecast.md (or .json, .csv, .html with --format) instead of stdout',
        }),
    async (args) => {
      const { profile, settings } = prepare(args as ForecastArgs);
      const report = withDrawProgress('Monte Carlo draws', settings, (s) => forecastReport(profile, s));
      const text =
        args.format === 'json'
          ? JSON.stringify(report, null, 2)
          : args.format === 'csv'
            ? forecastCsv(report)
            : args.format === 'html'
              ? await (await import('../report/html/forecastHtml.js')).forecastHtml(report)
              : forecastMarkdown(report);
      emit(text, args.out, `forecast.${args.format}`);
    },
  );
}

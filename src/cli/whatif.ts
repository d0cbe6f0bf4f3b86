import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { applyOverrides } from '../profile/overrides.js';
import { whatifMarkdown } from '../report/markdown.js';
import { forecastReport } from '../report/pipeline.js';
import { forecastOptions, prepare, type ForecastArgs, withDrawProgress } from './forecast.js';
import { emit } from './output.js';

export function whatifCommand(y: Argv) {
  return y.command('whatif', 'Compare the forecast before and after a change', (w) =>
    w
      .command(
        'relay',
        'What if we join this relay? Extra ingress, pull, media and storage, side by side',
        (c) =>
          forecastOptions(c)
            .option('posts-per-hour', {
              type: 'number',
              demandOption: true,
              describe: 'Posts per hour the relay pushes',
            })
            .option('media-fraction', {
              type: 'number',
              describe: "Share of relayed posts with media (default: the profile's inbound share)",
            })
            .option('name', {
              type: 'string',
              default: 'this relay',
              describe: 'Relay name or inbox URL for the report',
            })
            .option('format', { choices: ['md', 'json', 'html'] as const, default: 'md' as const })
            .option('out', {
              type: 'string',
              describe: 'Write DIR/whatif-relay.md (or .json, .html with --format) instead of stdout',
            }),
        async (args) => {
          const pph = args['posts-per-hour'];
          const media = args['media-fraction'];
          if (!Number.isFinite(pph) || pph < 0)
            throw new InputError(`--posts-per-hour must be a number >= 0, got ${pph}`);
          if (media !== undefined && !(media >= 0 && media <= 1)) {
            throw new InputError(`--media-fraction must be between 0 and 1, got ${media}`);
          }
          const { profile, settings } = prepare(args as ForecastArgs);
          const joined = applyOverrides(profile, {
            relays: [{ name: args.name, postsPerHour: pph, mediaFraction: media }],
          });
          const before = withDrawProgress('Monte Carlo draws, before', settings, (s) =>
            forecastReport(profile, s),
          );
          const after = withDrawProgress('Monte Carlo draws, after', settings, (s) =>
            forecastReport(joined, s),
          );
          const relay = { name: args.name, postsPerHour: pph, mediaFraction: media ?? null };
          const text =
            args.format === 'json'
              ? JSON.stringify({ before, after }, null, 2)
              : args.format === 'html'
                ? await (await import('../report/html/whatifHtml.js')).whatifHtml(before, after, relay)
                : whatifMarkdown(before, after, relay);
          emit(text, args.out, `whatif-relay.${args.format}`);
        },
      )
      .demandCommand(1, 'say what to compare: fedicap whatif relay --posts-per-hour N'),
  );
}

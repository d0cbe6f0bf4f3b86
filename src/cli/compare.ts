import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { durationFlag } from './collectFlags.js';
import { emit } from './output.js';

/** Exit code when any row regressed (0: none did; 2: bad input). */
export const EXIT_REGRESSED = 1;

/** `--threshold 10%`: a relative change as a fraction (0.1); anything but a positive percentage is refused. */
export function thresholdFlag(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  const pct = match ? Number(match[1]) : Number.NaN;
  if (!(pct > 0))
    throw new InputError(`--threshold: expected a positive percentage such as 10%, got "${value}"`);
  return pct / 100;
}

/** `--alpha 0.05`: a probability strictly between 0 and 1. */
export function alphaFlag(value: number): number {
  if (!(value > 0 && value < 1))
    throw new InputError(`--alpha: expected a number between 0 and 1, got ${value}`);
  return value;
}

/** `fedicap compare BASE CANDIDATE`: two runs → compareRuns (src/compare/compareRuns.ts) → a verdict, exit 0/1/2. */
export function compareCommand(y: Argv) {
  return y.command(
    'compare <base> <candidate>',
    'Compare a candidate run with a base run of the same load (before and after an upgrade): per endpoint class, queue and job class, what got slower, with confidence intervals; exit 1 on a regression',
    (c) =>
      c
        .positional('base', {
          type: 'string',
          demandOption: true,
          describe: 'The run directory before the change',
        })
        .positional('candidate', {
          type: 'string',
          demandOption: true,
          describe: 'The run directory after the change, same scenario and load',
        })
        .option('format', {
          choices: ['md', 'json', 'html'] as const,
          default: 'md' as const,
          describe: 'Output format',
        })
        .option('threshold', {
          type: 'string',
          default: '10%',
          describe:
            'Smallest relative change called a regression (it must also be outside the interval of noise)',
        })
        .option('alpha', {
          type: 'number',
          default: 0.05,
          describe: 'Significance level of the Mann–Whitney test',
        })
        .option('out', {
          type: 'string',
          describe: 'Write compare.md, compare.json or compare.html into this directory, not stdout',
        })
        .option('window', { type: 'string', default: '10s', describe: 'Time window the bootstrap resamples' })
        .option('seed', { type: 'number', default: 1, describe: "The bootstrap's random seed" })
        .option('skip-bad-lines', {
          type: 'boolean',
          default: false,
          describe: 'Pass over corrupt lines in the run files (counted and reported) instead of stopping',
        }),
    async (args) => {
      const threshold = thresholdFlag(args.threshold);
      const alpha = alphaFlag(args.alpha);
      const windowMs = durationFlag(args.window, '--window')!;
      if (!Number.isInteger(args.seed)) throw new InputError(`--seed: expected an integer, got ${args.seed}`);
      const { compareRuns } = await import('../compare/compareRuns.js');
      const { renderers } = await import('../compare/render.js');
      const { BadLines } = await import('../results/records.js');
      const bad = args['skip-bad-lines'] ? new BadLines() : undefined;
      const comparison = await compareRuns(args.base, args.candidate, {
        threshold,
        alpha,
        windowSec: windowMs / 1000,
        seed: args.seed,
        ...(bad ? { skipBadLines: bad } : {}),
      });
      const renderer = renderers[args.format];
      emit(await renderer.render(comparison), args.out, renderer.fileName);
      if (bad && bad.count > 0) process.stderr.write(`${bad.count} bad lines passed over\n`);
      if (comparison.regressions.length > 0) process.exitCode = EXIT_REGRESSED;
    },
  );
}

import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/files.js';
import { durationFlag } from './collectFlags.js';

/** `fedicap calibrate RUN_DIR...`: runs → calibrateRuns (src/calibrate/calibrateRuns.ts) → calibration.json. */
export function calibrateCommand(y: Argv) {
  return y.command(
    'calibrate <runs..>',
    'Measure service demands from runs made with `fedicap run --collect` and write the calibration file `forecast --calibration` reads',
    (c) =>
      c
        .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'Run directories' })
        .option('out', {
          alias: 'o',
          type: 'string',
          default: 'calibration.json',
          describe: 'The file to write',
        })
        .option('target-kind', {
          choices: ['mastodon', 'testbed'] as const,
          demandOption: true,
          describe: 'What the runs loaded: a calibration of the testbed never passes for a Mastodon instance',
        })
        .option('target-version', { type: 'string', describe: "The instance's version, e.g. 4.4.2" })
        .option('window', { type: 'string', default: '10s', describe: 'Window the regressions work on' })
        .option('skip-bad-lines', {
          type: 'boolean',
          default: false,
          describe: 'Pass over corrupt lines in the run files (counted and reported) instead of stopping',
        }),
    async (args) => {
      const { calibrateRuns } = await import('../calibrate/calibrateRuns.js');
      const { BadLines } = await import('../results/records.js');
      const windowMs = durationFlag(args.window, '--window');
      const bad = args['skip-bad-lines'] ? new BadLines() : undefined;
      const { document, skipped } = await calibrateRuns(args.runs as string[], {
        targetKind: args['target-kind'],
        ...(args['target-version'] ? { version: args['target-version'] } : {}),
        ...(windowMs ? { windowSec: windowMs / 1000 } : {}),
        ...(bad ? { skipBadLines: bad } : {}),
      });
      const jobs = Object.keys(document.jobs ?? {});
      const web = Object.keys(document.web ?? {});
      if (jobs.length + web.length === 0)
        throw new InputError(
          `calibrate: nothing could be measured from ${(args.runs as string[]).join(', ')} (no job completions or requests in windows with samples)`,
        );
      writeFileAtomic(args.out, `${JSON.stringify(document, null, 2)}\n`);
      const lines = [
        `wrote ${args.out}: ${jobs.length} job classes (${jobs.join(', ') || 'none'}), ${web.length} stations (${web.join(', ') || 'none'})`,
        ...skipped.map((s) => `  not calibrated: ${s}`),
        ...(bad && bad.count > 0 ? [`  ${bad.count} bad lines passed over`] : []),
      ];
      process.stderr.write(`${lines.join('\n')}\n`);
    },
  );
}

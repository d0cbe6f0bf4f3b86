#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError } from '../src/shared/errors.js';
import { calibrateCommand } from '../src/cli/calibrate.js';
import { collectCommand } from '../src/cli/collect.js';
import { compareCommand } from '../src/cli/compare.js';
import { fleetCommand } from '../world/cli/fleet.js';
import { forecastCommand } from '../src/cli/forecast.js';
import { profileCommand } from '../src/cli/profile.js';
import { queueCommand } from '../src/cli/queue.js';
import { reportCommand } from '../src/cli/report.js';
import { runCommand } from '../src/cli/run.js';
import { seedCommand } from '../world/cli/seed.js';
import { testbedCommand } from '../world/cli/testbed.js';
import { validateCommand, type ValidationWorldStarter } from '../src/cli/validate.js';
import { checkValidationWorldOptions } from '../world/cli/validationWorld.js';
import { whatifCommand } from '../src/cli/whatif.js';

/** The simulated world a validation loads, loaded on demand: other commands do not pay for it. */
const validationWorlds: ValidationWorldStarter = {
  check: (options) => void checkValidationWorldOptions(options),
  start: async (options) => (await import('../world/cli/validationWorld.js')).startValidationWorld(options),
};

/** Bad input: one message, exit code 2, no stack trace. Anything else is a bug and keeps its stack. */
function fail(err: unknown): never {
  if (err instanceof InputError) {
    process.stderr.write(`fedicap: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `fedicap: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}

/**
 * `--sidekiq "-c 10 -q push,6"` passes a value that itself starts with a
 * dash, which yargs would read as flags: glue such values to their option.
 */
function glueDashValues(argv: string[], options: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (options.includes(arg) && next?.startsWith('-') && /\s/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * A reader that went away (`fedicap forecast | head -1`) is no error: stop quietly with status 0, as Unix
 * tools do. Any other failure of the stream is.
 */
function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    fail(err);
  });
}

async function main(): Promise<void> {
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  const cli = yargs(glueDashValues(hideBin(process.argv), ['--sidekiq']))
    .scriptName('fedicap')
    .usage('$0 <command> [options]\n\nLoad testing and capacity planning for Mastodon instances.')
    .strict()
    .demandCommand(1, 'give a command: forecast, whatif relay, queue, run, collect')
    .recommendCommands()
    .help()
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      throw new InputError(`${msg}\nRun \`fedicap --help\` for usage.`);
    });
  forecastCommand(cli);
  whatifCommand(cli);
  queueCommand(cli);
  profileCommand(cli);
  testbedCommand(cli);
  runCommand(cli);
  calibrateCommand(cli);
  collectCommand(cli);
  seedCommand(cli);
  fleetCommand(cli);
  validateCommand(cli, validationWorlds);
  compareCommand(cli);
  reportCommand(cli);
  await cli.parseAsync();
}

main().catch(fail);

#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError } from '../errors.js';
import { forecastCommand } from './forecast.js';
import { profileCommand } from './profile.js';
import { queueCommand } from './queue.js';
import { whatifCommand } from './whatif.js';

/** Bad input: one message, exit code 2, no stack trace. Anything else is a bug and keeps its stack. */
function fail(err: unknown): never {
  if (err instanceof InputError) {
    process.stderr.write(`fedicap: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`fedicap: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv))
    .scriptName('fedicap')
    .usage('$0 <command> [options]\n\nLoad testing and capacity planning for Mastodon instances.')
    .strict()
    .demandCommand(1, 'give a command: forecast, whatif relay, queue')
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
  await cli.parseAsync();
}

main().catch(fail);

import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { sourceFlags, sourcesOf } from './collectFlags.js';

/** Where the run's results go: fedicap's run directory and k6's own outputs. */
function outputFlags<T>(c: Argv<T>) {
  return c
    .option('out-dir', {
      type: 'string',
      describe:
        'Directory for k6.ndjson.gz, summary.json, run.json and images/ (images to upload, reused; default: run)',
    })
    .option('out', {
      type: 'string',
      describe: 'Deprecated: the former name of --out-dir (it goes in the next release)',
    })
    .option('k6-out', {
      type: 'string',
      array: true,
      describe:
        "One of k6's own outputs, passed to k6 as --out SPEC (repeatable), e.g. json=all.json or experimental-prometheus-rw",
    });
}

/** `fedicap run <scenario>`: flags → runScenario (src/run/scenario.ts) → the engine's exit code. */
export function runCommand(y: Argv) {
  return y.command(
    'run <scenario>',
    'Run a k6 scenario against a confirmed target: with k6 when it is installed, else with the local executor (CI and smoke tests)',
    (c) =>
      outputFlags(sourceFlags(c))
        .positional('scenario', {
          type: 'string',
          demandOption: true,
          describe: 'The k6 scenario file (.ts or .js)',
        })
        .option('target', {
          type: 'string',
          demandOption: true,
          describe: 'Base URL of the instance under test (the scenario reads it as __ENV.BASE_URL)',
        })
        .option('confirm-target', {
          type: 'string',
          demandOption: true,
          describe: "The target's host[:port] again, e.g. 127.0.0.1:3000: load only goes where you confirm",
        })
        .option('engine', {
          choices: ['k6', 'local'] as const,
          describe: 'k6 (the load engine) or local (in-process, loopback only); default: k6 when on PATH',
        })
        .option('env', {
          alias: 'e',
          type: 'string',
          array: true,
          describe:
            "KEY=VALUE for the scenario's __ENV (repeatable); values other than SCALE/DURATION/PROFILE are never written to outputs",
        })
        .option('duration', {
          type: 'string',
          describe: 'Passed as __ENV.DURATION, e.g. 30s (the scenario sizes its executors with it)',
        })
        .option('scale', {
          type: 'number',
          describe: "Passed as __ENV.SCALE: a multiplier on the profile's arrival rates",
        })
        .option('collect', {
          type: 'boolean',
          describe:
            'Observe the instance for the run with `fedicap collect` into OUT/samples.ndjson (the source flags below; any of them implies it)',
        })
        .group(
          [
            'collect',
            'sidekiq-redis',
            'database-url',
            'redis-url',
            'prometheus',
            'process',
            'media-dir',
            'interval',
          ],
          'Collect while the run loads the instance:',
        ),
    async (args) => {
      // Loaded here, not at start-up: other commands should not pay for the run's modules.
      const { runScenario } = await import('../run/scenario.js');
      const { namesASource } = await import('../collect/index.js');
      const { intervalMs, ...sources } = sourcesOf(args);
      const collecting = namesASource(sources);
      if (args.collect && !collecting)
        throw new InputError('--collect: name what to observe (--sidekiq-redis, --prometheus, --process, …)');
      const exitCode = await runScenario({
        collect: collecting ? { ...sources, intervalMs } : undefined,
        scenario: args.scenario,
        target: args.target,
        confirmTarget: args['confirm-target'],
        engine: args.engine,
        out: outDirOf(args['out-dir'], args.out, (text) => void process.stderr.write(text)),
        k6Outputs: args['k6-out'] ?? [],
        envPairs: args.env ?? [],
        duration: args.duration,
        scale: args.scale,
        stderr: (text) => void process.stderr.write(text),
        onInterrupt: (stop) => {
          process.once('SIGINT', stop);
          return () => process.off('SIGINT', stop);
        },
      });
      // Exit once the streams have drained: a VU stopped mid-request must not keep the process alive.
      await new Promise<void>((r) => process.stdout.write('', () => r()));
      await new Promise<void>((r) => process.stderr.write('', () => r()));
      process.exit(exitCode);
    },
  );
}

/** --out-dir, or its deprecated name --out (with a note on stderr); both at once is an error. */
export function outDirOf(outDir: string | undefined, out: string | undefined, note: (text: string) => void) {
  if (out === undefined) return outDir ?? 'run';
  if (outDir !== undefined)
    throw new InputError('--out is the deprecated name of --out-dir: give one of them');
  note('note: --out is deprecated and goes in the next release; use --out-dir\n');
  return out;
}

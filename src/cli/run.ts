import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';

/** Env keys whose values are not secrets: run.json records their values, the rest by key only. */
const PUBLIC_ENV = new Set(['BASE_URL', 'SCALE', 'DURATION', 'PROFILE']);

function parseEnvPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(pair);
    if (!m)
      throw new InputError(
        `-e "${pair.length > 40 ? `${pair.slice(0, 40)}…` : pair}": expected KEY=VALUE with KEY made of letters, digits and _`,
      );
    if (m[1] === 'BASE_URL')
      throw new InputError(
        '-e BASE_URL: the target is given with --target (the scenario gets it as __ENV.BASE_URL)',
      );
    env[m[1]!] = m[2]!;
  }
  return env;
}

export function runCommand(y: Argv) {
  return y.command(
    'run <scenario>',
    'Run a k6 scenario against a confirmed target: with k6 when it is installed, else with the local executor (CI and smoke tests)',
    (c) =>
      c
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
        .option('out', {
          type: 'string',
          default: 'run',
          describe: 'Directory for k6.ndjson, summary.json and run.json',
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
        }),
    async (args) => {
      // Loaded here, not at start-up: other commands should not pay for esbuild, ws and the runner.
      const { parseTarget, isLoopbackHost, probeTarget } = await import('../run/target.js');
      const { parseDurationMs } = await import('../run/duration.js');
      const { findK6, runK6 } = await import('../run/k6.js');

      const scenarioPath = resolve(args.scenario);
      let isFile = false;
      try {
        isFile = statSync(scenarioPath).isFile();
      } catch {
        // reported below
      }
      if (!isFile) throw new InputError(`scenario ${args.scenario}: no such file`);
      const userEnv = parseEnvPairs(args.env ?? []);
      const target = parseTarget(args.target);
      if (typeof target === 'string') throw new InputError(target);
      if (args['confirm-target'] !== target.host) {
        throw new InputError(
          `--confirm-target "${args['confirm-target']}" does not match the target's host "${target.host}"; repeat the host[:port] of --target to confirm where the load goes`,
        );
      }
      if (args.duration !== undefined) {
        try {
          parseDurationMs(args.duration, '--duration');
        } catch (err) {
          throw new InputError((err as Error).message);
        }
      }
      if (args.scale !== undefined && !(Number.isFinite(args.scale) && args.scale > 0))
        throw new InputError(`--scale must be a positive number, got ${args.scale}`);

      const k6Path = args.engine === 'local' ? null : findK6();
      let engine: 'k6' | 'local';
      if (args.engine === 'k6') {
        if (!k6Path)
          throw new InputError(
            '--engine k6: no k6 executable on PATH (install k6 ≥ 1.0, or use --engine local for a small local run)',
          );
        engine = 'k6';
        process.stderr.write(`engine: k6 (${k6Path}, as asked)\n`);
      } else if (args.engine === 'local') {
        engine = 'local';
        process.stderr.write(
          'engine: local executor (as asked; it is for CI and smoke tests, k6 is the load engine)\n',
        );
      } else if (k6Path) {
        engine = 'k6';
        process.stderr.write(`engine: k6 (found ${k6Path})\n`);
      } else {
        engine = 'local';
        process.stderr.write(
          'engine: local executor (k6 is not on PATH; it is for CI and smoke tests — install k6 for real load)\n',
        );
      }
      if (engine === 'local' && !isLoopbackHost(target.hostname)) {
        throw new InputError(
          `--target ${target.host}: the local executor sends load only to loopback addresses (127.0.0.0/8, ::1, localhost); aim k6 at other hosts (--engine k6)`,
        );
      }
      const unreachable = await probeTarget(target);
      if (unreachable) throw new InputError(`--target ${target.origin} is unreachable: ${unreachable}`);

      const env: Record<string, string> = { BASE_URL: target.toString().replace(/\/$/, ''), ...userEnv };
      if (args.duration !== undefined) env.DURATION = args.duration;
      if (args.scale !== undefined) env.SCALE = String(args.scale);
      if (env.PROFILE) env.PROFILE = resolve(env.PROFILE);
      const outDir = resolve(args.out);

      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const startedAt = new Date().toISOString();
      let exitCode: number;
      try {
        if (engine === 'k6') {
          const { mkdirSync } = await import('node:fs');
          try {
            mkdirSync(outDir, { recursive: true });
          } catch (err) {
            throw new InputError(
              `--out ${args.out}: cannot create directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
            );
          }
          // Ctrl-C reaches k6 directly (same process group); fedicap waits for it to stop and records the run.
          exitCode = await runK6({
            k6: k6Path!,
            scenarioPath,
            env,
            showValues: PUBLIC_ENV,
            outDir,
            stderr: (t) => void process.stderr.write(t),
          });
        } else {
          const { runLocal } = await import('../run/local/runner.js');
          const result = await runLocal({
            scenarioPath,
            env: { ...process.env, ...env } as Record<string, string>,
            outDir,
            signal: controller.signal,
          });
          exitCode = result.exitCode;
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
      const { writeFileAtomic } = await import('../shared/files.js');
      const record = {
        scenario: scenarioPath,
        target: env.BASE_URL,
        engine,
        startedAt,
        endedAt: new Date().toISOString(),
        env: Object.fromEntries(
          Object.keys(env)
            .sort()
            .map((k) => [k, PUBLIC_ENV.has(k) ? env[k] : null]),
        ),
        profile: env.PROFILE ?? null,
        scale: args.scale ?? null,
        duration: args.duration ?? null,
        exitCode,
      };
      writeFileAtomic(resolve(outDir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
      process.stderr.write(
        `wrote ${resolve(outDir, 'k6.ndjson')}, summary.json and run.json (exit code ${exitCode})\n`,
      );
      // Exit once the streams have drained: a VU stopped mid-request must not keep the process alive.
      await new Promise<void>((r) => process.stdout.write('', () => r()));
      await new Promise<void>((r) => process.stderr.write('', () => r()));
      process.exit(exitCode);
    },
  );
}

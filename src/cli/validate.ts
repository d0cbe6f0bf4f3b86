/**
 * `fedicap validate testbed`: start the simulated world (fleet and testbed, on loopback), climb the mixed
 * step load against it with the local executor, analyse the run against the model, print the comparison,
 * and stop everything. The world comes from bin/fedicap.ts (src/ never imports world/).
 */
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_PROFILE_PATH } from '../profile/load.js';
import { writeFileAtomic } from '../shared/files.js';
import type { RunningValidationWorld } from '../validate/world.js';
import {
  checkStoreUrls,
  defaultDatabaseUrl,
  makeValidationDirs,
  stepPlanOf,
  timestampName,
  validationDirsOf,
  type ValidateArgs,
  type ValidationDirs,
  type ValidationStepPlan,
} from './validateArgs.js';
import { analyseValidation, validationText } from './validateOutcome.js';

/** What the command asks of the simulated world (world/cli/validationWorld.ts). */
export interface ValidationWorldOptions {
  /** tokens.json, fleet-manifest.json (both mode 0600) and the testbed's media go here. */
  dir: string;
  /** The fleet's delivery records (the run directory's deliveries.ndjson). */
  deliveriesPath: string;
  databaseUrl: string;
  redisUrl: string;
  /** `--sidekiq` texts; the world's default when absent. */
  sidekiqUnits?: readonly string[];
  /** Aborting it stops what has started; the start then rejects. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The simulated world, injected by bin/fedicap.ts. */
export interface ValidationWorldStarter {
  /** Throw an InputError naming the flag for options no world can start with; start nothing. */
  check(options: ValidationWorldOptions): void;
  start(options: ValidationWorldOptions): Promise<RunningValidationWorld>;
}

/** The scenario every validation climbs: the profile's mix on ramping arrival rates, in plateaus. */
const MIXED_STEP_SCENARIO = join(dirname(dirname(DEFAULT_PROFILE_PATH)), 'scenarios', 'mixed-step.ts');
/** Small images to upload (16 KB JPEGs): the validation measures queues and the web tier, not image processing. */
const IMAGE_SIZES_BYTES = [16 * 1024];
/** Exit codes: Ctrl-C as a shell reports it; a run that ended in error. */
const EXIT_INTERRUPTED = 130;
const EXIT_RUN_FAILED = 1;
/** k6's: thresholds failed (expected: the steps climb past saturation); stopped from outside. */
const K6_THRESHOLDS_FAILED = 99;
const K6_EXTERNAL_ABORT = 105;

function validateFlags<T>(c: Argv<T>) {
  return c
    .option('database-url', {
      type: 'string',
      describe:
        'A PostgreSQL database that does not exist yet or holds no account (created; kept afterwards for inspection). Default: fedicap_validate_<time> on 127.0.0.1',
    })
    .option('redis-url', {
      type: 'string',
      default: 'redis://127.0.0.1:6379/9',
      describe: 'Redis with an empty database index of its own (emptied again at the end)',
    })
    .option('sidekiq', {
      type: 'string',
      array: true,
      describe:
        'A Sidekiq unit per flag, "[Nx] -c 5 -q ingress" (default: one -c 5 pool each for ingress, push and default, one for the other queues)',
    })
    .option('steps', { type: 'number', default: 5, describe: 'Load plateaus' })
    .option('step-duration', { type: 'string', default: '60s', describe: 'Length of each plateau' })
    .option('step-from', { type: 'number', default: 0.5, describe: "First plateau: × the profile's rates" })
    .option('step-to', { type: 'number', default: 4, describe: "Last plateau: × the profile's rates" })
    .option('scale', { type: 'number', default: 1, describe: 'Multiplier on every plateau' })
    .option('out', {
      type: 'string',
      describe: 'Directory for the run and the result (default validate-<time>)',
    })
    .option('format', { choices: ['md', 'json'] as const, default: 'md' as const });
}

/** Ctrl-C and SIGTERM abort `controller` for as long as the command runs; returns the unlistening. */
function abortOnSignals(controller: AbortController): () => void {
  const abort = () => {
    if (!controller.signal.aborted)
      process.stderr.write('stopping: the run, then the testbed and the fleet\n');
    controller.abort();
  };
  process.on('SIGINT', abort);
  process.on('SIGTERM', abort);
  return () => {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  };
}

/** mixed-step.ts with the local executor against the world; resolves with the engine's exit code. */
async function runSteps(
  world: RunningValidationWorld,
  plan: ValidationStepPlan,
  runDir: string,
  signal: AbortSignal,
): Promise<number> {
  const { runScenario } = await import('../run/scenario.js');
  return runScenario({
    scenario: MIXED_STEP_SCENARIO,
    target: world.url,
    confirmTarget: world.host,
    engine: 'local',
    out: runDir,
    envPairs: [
      `TOKENS=${world.tokensPath}`,
      `FLEET=${world.fleetManifestPath}`,
      `PROFILE=${DEFAULT_PROFILE_PATH}`,
      `STEPS=${plan.steps}`,
      `STEP_FROM=${plan.fromMultiple}`,
      `STEP_TO=${plan.toMultiple}`,
      `STEP_DURATION=${plan.stepSec}s`,
    ],
    imageSizesBytes: IMAGE_SIZES_BYTES,
    duration: undefined,
    scale: plan.scale,
    // The collector around the run, into the run directory's samples.ndjson, on k6's clock.
    collect: {
      sidekiqRedis: world.sidekiqRedisUrl,
      databaseUrl: world.databaseUrl,
      redisUrl: world.redisUrl,
      prometheus: [world.metricsUrl],
      // This process too (the local executor and the fleet load the same cores), unless the world runs in it.
      processes: [
        ...world.processes.map((p) => `${p.name}=${p.pid}`),
        ...(world.processes.some((p) => p.pid === process.pid) ? [] : [`loadgen=${process.pid}`]),
      ],
      mediaDir: world.mediaDir,
      hostCpu: true,
    },
    stderr: (text) => void process.stderr.write(text),
    // stdout carries the comparison alone (--format json is read by programs)
    summaryOut: (text) => void process.stderr.write(text),
    onInterrupt: (stop) => {
      if (signal.aborted) stop();
      signal.addEventListener('abort', stop, { once: true });
      return () => signal.removeEventListener('abort', stop);
    },
  });
}

/** How far ahead of the testbed the load generator runs (nice −10: about nine times the weight of nice 0). */
const LOAD_GENERATOR_NICE = -10;

/**
 * Run the load generator (this process: the local executor, the fleet, the collector) ahead of the
 * testbed, as on a host of its own: else it starves on a saturated host, offers less than the step
 * asks, and the knee measured is the generator's. Called once the world has forked its processes, which
 * keep nice 0. The names of the processes prioritized, none when the system refuses (no privilege).
 */
function prioritizeLoadGenerator(world: RunningValidationWorld): string[] {
  const names = world.processes.filter((p) => p.pid === process.pid).map((p) => p.name);
  try {
    setPriority(LOAD_GENERATOR_NICE);
  } catch (err) {
    process.stderr.write(
      `note: the load generator could not run ahead of the testbed (${(err as Error).message}); it competes for the cores\n`,
    );
    return [];
  }
  return names.length > 0 ? names : ['loadgen'];
}

/** The run, then the analysis, on a started world; resolves with the command's exit code. */
async function runAndAnalyse(
  world: RunningValidationWorld,
  plan: ValidationStepPlan,
  dirs: ValidationDirs,
  o: { format: 'md' | 'json'; signal: AbortSignal },
): Promise<number> {
  const exitCode = await runSteps(world, plan, dirs.runDir, o.signal);
  if (o.signal.aborted || exitCode === K6_EXTERNAL_ABORT) return EXIT_INTERRUPTED;
  if (exitCode !== 0 && exitCode !== K6_THRESHOLDS_FAILED) {
    process.stderr.write(`fedicap: the run ended with exit code ${exitCode}; see ${dirs.runDir}\n`);
    return EXIT_RUN_FAILED;
  }
  const { outcome, calibration } = await analyseValidation(dirs.runDir, world, plan);
  // The calibration the predictions came from, as `fedicap calibrate` writes it (light steps only).
  writeFileAtomic(join(dirs.out, 'calibration.json'), `${JSON.stringify(calibration, null, 2)}\n`);
  const text = validationText(outcome, o.format);
  writeFileAtomic(join(dirs.out, `validation.${o.format}`), text);
  process.stdout.write(text);
  return 0;
}

type Args = ValidateArgs & { format: 'md' | 'json' };

/** Check every flag, start the world, run, analyse, stop; resolves with the command's exit code. */
export async function validateTestbed(args: Args, worlds: ValidationWorldStarter): Promise<number> {
  const now = new Date();
  const plan = stepPlanOf(args);
  const databaseUrl = args['database-url'] ?? defaultDatabaseUrl(now);
  checkStoreUrls(databaseUrl, args['redis-url']);
  const outFlag = args.out ?? `validate-${timestampName(now)}`;
  const dirs = validationDirsOf(outFlag);
  const controller = new AbortController();
  const options: ValidationWorldOptions = {
    dir: dirs.worldDir,
    deliveriesPath: join(dirs.runDir, 'deliveries.ndjson'),
    databaseUrl,
    redisUrl: args['redis-url'],
    ...(args.sidekiq?.length ? { sidekiqUnits: args.sidekiq } : {}),
    signal: controller.signal,
    log: (line) => void process.stderr.write(`${line}\n`),
  };
  worlds.check(options);
  makeValidationDirs(dirs, outFlag);
  writeFileAtomic(join(dirs.out, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
  const unlisten = abortOnSignals(controller);
  let world: RunningValidationWorld | undefined;
  try {
    world = await worlds.start(options);
    process.stderr.write(worldText(world));
    const ran = { ...plan, prioritized: prioritizeLoadGenerator(world) };
    writeFileAtomic(join(dirs.out, 'plan.json'), `${JSON.stringify(ran, null, 2)}\n`);
    return await runAndAnalyse(world, ran, dirs, { format: args.format, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) return EXIT_INTERRUPTED;
    throw err;
  } finally {
    await world?.stop();
    unlisten();
    if (controller.signal.aborted)
      process.stderr.write('interrupted: everything the validation started is stopped\n');
  }
}

/** The world as started: where it answers and what runs it, one process per line. */
function worldText(world: RunningValidationWorld): string {
  const lines = world.processes.map((p) => `  ${p.name}: ${p.pid}`);
  return `world started: testbed ${world.url}, metrics ${world.metricsUrl}\n${lines.join('\n')}\n`;
}

export function validateCommand(y: Argv, worlds: ValidationWorldStarter) {
  return y.command('validate', 'Hold the model to measurements of a known system', (v) =>
    v
      .command(
        'testbed',
        'Start the testbed and a fleet on loopback, climb the mixed step load, and compare the predicted saturation throughput and queue latency of each station with the measured',
        validateFlags,
        async (args) => {
          const code = await validateTestbed(args, worlds);
          // Exit once the streams have drained: a VU stopped mid-request must not keep the process alive.
          await new Promise<void>((r) => process.stdout.write('', () => r()));
          await new Promise<void>((r) => process.stderr.write('', () => r()));
          process.exit(code);
        },
      )
      .demandCommand(1, 'say what to validate on: fedicap validate testbed'),
  );
}

/**
 * `fedicap run`: check the inputs, choose the engine, confirm the target
 * answers, run the scenario with k6 or the local executor, and record the
 * run in run.json beside k6.ndjson and summary.json.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CollectSources, type Collection, SAMPLES_FILE, startCollection } from '../collect/index.js';
import { InputError } from '../shared/errors.js';
import { checkOutputDirectory, makeOutputDirectory } from '../shared/files.js';
import { loadProfile } from '../profile/load.js';
import { parseDurationMs } from './duration.js';
import { checkEngineReaches, chooseEngine, type EngineChoice, type EngineName } from './engine.js';
import { parseEnvPairs, scenarioEnv } from './env.js';
import { runK6 } from './k6.js';
import { PUBLIC_ENV, runRecord, writeRunRecord } from './record.js';
import { parseTarget, probeTarget } from './target.js';

export interface RunRequest {
  /** The scenario file as given. */
  scenario: string;
  target: string;
  /** The target's host[:port] again: load only goes where the user confirms. */
  confirmTarget: string;
  engine: EngineName | undefined;
  /** Directory for k6.ndjson, summary.json and run.json, as given. */
  out: string;
  /** -e KEY=VALUE pairs. */
  envPairs: string[];
  duration: string | undefined;
  scale: number | undefined;
  /** Observe the instance meanwhile (`--collect`): samples.ndjson in the run directory. */
  collect?: CollectSources & { intervalMs?: number };
  stderr: (text: string) => void;
  /**
   * Where the local executor writes its text summary (default: stdout, as k6 does). A command whose
   * stdout carries its own result sends it elsewhere.
   */
  summaryOut?: (text: string) => void;
  /**
   * Listen for the user's interrupt (Ctrl-C) while the engine runs; returns the function that stops
   * listening.
   */
  onInterrupt: (stop: () => void) => () => void;
}

interface CheckedInputs {
  scenarioPath: string;
  userEnv: Record<string, string>;
  target: URL;
}

/** Every input checked before anything is chosen or contacted, in the order the errors are reported. */
function checkInputs(req: RunRequest): CheckedInputs {
  const scenarioPath = resolve(req.scenario);
  let isFile = false;
  try {
    isFile = statSync(scenarioPath).isFile();
  } catch {
    // reported below
  }
  if (!isFile) throw new InputError(`scenario ${req.scenario}: no such file`);
  const userEnv = parseEnvPairs(req.envPairs);
  const target = parseTarget(req.target);
  if (typeof target === 'string') throw new InputError(target);
  if (req.confirmTarget !== target.host) {
    throw new InputError(
      `--confirm-target "${req.confirmTarget}" does not match the target's host "${target.host}"; repeat the host[:port] of --target to confirm where the load goes`,
    );
  }
  if (req.duration !== undefined) {
    try {
      parseDurationMs(req.duration, '--duration');
    } catch (err) {
      throw new InputError((err as Error).message);
    }
  }
  if (req.scale !== undefined && !(Number.isFinite(req.scale) && req.scale > 0))
    throw new InputError(`--scale must be a positive number, got ${req.scale}`);
  checkOutputDirectory(req.out, '--out');
  if (userEnv.PROFILE !== undefined) checkProfileEnv(userEnv.PROFILE);
  return { scenarioPath, userEnv, target };
}

/**
 * -e PROFILE=FILE: the scenarios derive their rates from it, so it must be a profile forecast accepts
 * (a negative daily-active count would make scenarios vanish silently instead).
 */
function checkProfileEnv(file: string): void {
  try {
    loadProfile(resolve(file));
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`-e PROFILE=${file}: ${err.message}`);
    throw err;
  }
}

/** Run the chosen engine to its end; resolves with its exit code. */
async function runEngine(
  choice: EngineChoice,
  req: RunRequest,
  run: { scenarioPath: string; env: Record<string, string>; outDir: string },
): Promise<number> {
  const controller = new AbortController();
  const stopListening = req.onInterrupt(() => controller.abort());
  try {
    if (choice.engine === 'k6') {
      makeOutputDirectory(run.outDir, '--out', req.out);
      // Ctrl-C reaches k6 directly (same process group); fedicap waits for it to stop and records the run.
      return await runK6({ k6: choice.k6Path, ...run, showValues: PUBLIC_ENV, stderr: req.stderr });
    }
    // Loaded here: only the local executor pays for esbuild, ws and the runner.
    const { runLocal } = await import('./local/runner.js');
    const result = await runLocal({
      scenarioPath: run.scenarioPath,
      env: { ...process.env, ...run.env } as Record<string, string>,
      outDir: run.outDir,
      signal: controller.signal,
      ...(req.summaryOut ? { stdout: req.summaryOut } : {}),
    });
    return result.exitCode;
  } finally {
    stopListening();
  }
}

/** One `fedicap run`; resolves with the engine's exit code once run.json is written. */
export async function runScenario(req: RunRequest): Promise<number> {
  const { scenarioPath, userEnv, target } = checkInputs(req);
  const choice = chooseEngine(req.engine);
  req.stderr(choice.note);
  checkEngineReaches(choice.engine, target, target.host);
  const unreachable = await probeTarget(target);
  if (unreachable) throw new InputError(`--target ${target.origin} is unreachable: ${unreachable}`);

  const env = scenarioEnv(target, userEnv, req);
  const outDir = resolve(req.out);
  const collection = req.collect && startCollecting(req.collect, req.out, outDir);
  const startedAt = new Date().toISOString();
  let exitCode: number;
  try {
    exitCode = await runEngine(choice, req, { scenarioPath, env, outDir });
  } finally {
    const summary = await collection?.stop();
    if (summary) req.stderr(`collected ${summary.lines} samples into ${summary.out}\n`);
  }
  const endedAt = new Date().toISOString();
  const { duration, scale } = req;
  writeRunRecord(
    outDir,
    runRecord({ scenarioPath, engine: choice.engine, env, scale, duration, startedAt, endedAt, exitCode }),
  );
  req.stderr(`wrote ${resolve(outDir, 'k6.ndjson')}, summary.json and run.json (exit code ${exitCode})\n`);
  return exitCode;
}

/**
 * The collector for the run, started before the load (its flags are checked first, so bad input stops
 * the run before anything is sent) and stopped when the engine ends. Both stamp the same clock.
 */
function startCollecting(
  sources: RunRequest['collect'] & object,
  shownOut: string,
  outDir: string,
): Collection {
  makeOutputDirectory(outDir, '--out', shownOut);
  return startCollection({ ...sources, out: resolve(outDir, SAMPLES_FILE) });
}

/**
 * `fedicap run`: check the inputs, choose the engine, confirm the target
 * answers, run the scenario with k6 or the local executor, and record the
 * run in run.json beside k6.ndjson.gz and summary.json.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CollectSources, type Collection, SAMPLES_FILE, startCollection } from '../collect/index.js';
import { DEFAULT_PROFILE_PATH, loadProfile } from '../profile/load.js';
import { InputError } from '../shared/errors.js';
import { checkOutputDirectory, makeOutputDirectory } from '../shared/files.js';
import { parseDurationMs } from './duration.js';
import { checkEngineReaches, chooseEngine, type EngineChoice, type EngineName } from './engine.js';
import { parseEnvPairs, scenarioEnv } from './env.js';
import { checkImageSizes, equalShares, IMAGES_DIR, imageSizesOf, prepareImages } from './images.js';
import { K6_OUTPUT, runK6 } from './k6.js';
import { PUBLIC_ENV, runRecord, writeRunRecord } from './record.js';

/** What k6 (or the local executor) writes into the run directory, beside fedicap's run.json. */
const ENGINE_FILES = [K6_OUTPUT, 'summary.json'] as const;
import { parseTarget, probeTarget } from './target.js';

export interface RunRequest {
  /** The scenario file as given. */
  scenario: string;
  target: string;
  /** The target's host[:port] again: load only goes where the user confirms. */
  confirmTarget: string;
  engine: EngineName | undefined;
  /** Directory for k6.ndjson.gz, summary.json and run.json, as given (--out-dir). */
  out: string;
  /** k6's own outputs (`--k6-out SPEC`), each passed to k6 as `--out SPEC`; k6 engine only. */
  k6Outputs?: string[];
  /** -e KEY=VALUE pairs. */
  envPairs: string[];
  duration: string | undefined;
  scale: number | undefined;
  /**
   * Sizes of the images to upload (equal shares), instead of the profile's media.localImageBytes; ignored
   * when the user gives IMAGES.
   */
  imageSizesBytes?: number[];
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
  for (const spec of req.k6Outputs ?? []) {
    if (!/^[a-z][a-z0-9-]*(=.+)?$/.test(spec))
      throw new InputError(
        `--k6-out "${spec}": expected a k6 output, TYPE or TYPE=ARGUMENT (e.g. json=all.json)`,
      );
  }
  checkOutputDirectory(req.out, '--out-dir');
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
      makeOutputDirectory(run.outDir, '--out-dir', req.out);
      // Ctrl-C reaches k6 directly (same process group); fedicap waits for it to stop and records the run.
      return await runK6({
        k6: choice.k6Path,
        ...run,
        outputs: req.k6Outputs ?? [],
        showValues: PUBLIC_ENV,
        stderr: req.stderr,
      });
    }
    // Loaded here: only the local executor pays for esbuild, ws and the runner.
    const { runLocal, EXIT } = await import('./local/runner.js');
    const { InitContextError } = await import('./local/errors.js');
    try {
      const result = await runLocal({
        scenarioPath: run.scenarioPath,
        env: { ...process.env, ...run.env } as Record<string, string>,
        outDir: run.outDir,
        signal: controller.signal,
        ...(req.summaryOut ? { stdout: req.summaryOut } : {}),
      });
      return result.exitCode;
    } catch (err) {
      if (!(err instanceof InitContextError)) throw err;
      req.stderr(`${err.message}\n`);
      return EXIT.scriptException;
    }
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
  if (choice.engine === 'local' && req.k6Outputs?.length)
    throw new InputError(
      `--k6-out ${req.k6Outputs[0]}: k6's outputs need the k6 engine; the local executor writes ${K6_OUTPUT} only`,
    );
  const unreachable = await probeTarget(target);
  if (unreachable) throw new InputError(`--target ${target.origin} is unreachable: ${unreachable}`);

  const env = scenarioEnv(target, userEnv, req);
  const outDir = resolve(req.out);
  const outExisted = existsSync(outDir);
  const images = env.IMAGES ? undefined : await runImages(req, env, outDir);
  if (images) env.IMAGES = images.dir;
  const startedAt = new Date().toISOString();
  let collection: Collection | undefined;
  const before = engineOutputs(outDir);
  let exitCode: number;
  try {
    collection = req.collect && startCollecting(req.collect, req.out, outDir);
    exitCode = await runEngine(choice, req, { scenarioPath, env, outDir });
  } catch (err) {
    // Bad input found by the collector or the engine: the run leaves nothing behind, not even its images.
    if (err instanceof InputError && images?.generated) discardImages(images.dir, outDir, outExisted);
    throw err;
  } finally {
    const summary = await collection?.stop();
    if (summary) req.stderr(`collected ${summary.lines} samples into ${summary.out}\n`);
  }
  const endedAt = new Date().toISOString();
  const { duration, scale } = req;
  // The engine may have stopped before creating it (an exception in the init context).
  makeOutputDirectory(outDir, '--out-dir', req.out);
  writeRunRecord(
    outDir,
    runRecord({ scenarioPath, engine: choice.engine, env, scale, duration, startedAt, endedAt, exitCode }),
  );
  const written = [...writtenSince(before, engineOutputs(outDir)), 'run.json'];
  req.stderr(`wrote ${listed(outDir, written)} (exit code ${exitCode})\n`);
  return exitCode;
}

/** The engine's files in the run directory with their modification times (ms); absent ones left out. */
function engineOutputs(outDir: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const name of ENGINE_FILES) {
    try {
      found.set(name, statSync(resolve(outDir, name)).mtimeMs);
    } catch {
      // not written (yet)
    }
  }
  return found;
}

/** The files the engine wrote during the run: new, or changed since `before`. */
function writtenSince(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after].filter(([name, mtimeMs]) => before.get(name) !== mtimeMs).map(([name]) => name);
}

/** "DIR/a, b and c": the first file with its directory, the others by name. */
function listed(outDir: string, names: string[]): string {
  const [first, ...rest] = names;
  const head = resolve(outDir, first!);
  if (rest.length === 0) return `${head} only`;
  return `${[head, ...rest.slice(0, -1)].join(', ')} and ${rest[rest.length - 1]}`;
}

/**
 * OUT/images for the scenarios that upload media (IMAGES): the profile's local image sizes (or the request's),
 * generated once and reused by later runs into the same directory.
 */
async function runImages(
  req: RunRequest,
  env: Record<string, string>,
  outDir: string,
): Promise<{ dir: string; generated: boolean }> {
  const profilePath = env.PROFILE ?? DEFAULT_PROFILE_PATH;
  const sizes = req.imageSizesBytes
    ? equalShares(req.imageSizesBytes)
    : imageSizesOf(loadProfile(profilePath).media.localImageBytes);
  checkImageSizes(
    sizes,
    req.imageSizesBytes ? 'image sizes' : `profile ${profilePath}: media.localImageBytes`,
  );
  makeOutputDirectory(outDir, '--out-dir', req.out);
  const dir = join(outDir, IMAGES_DIR);
  const { manifest, reused } = await prepareImages(dir, sizes);
  const sizesText = manifest.files.map((f) => `${Math.round(f.bytes / 1024)} KB`).join(', ');
  req.stderr(`images to upload: ${reused ? 'reused' : 'generated'} ${dir} (JPEG ${sizesText})\n`);
  return { dir, generated: !reused };
}

/** Remove images generated for a run that stopped on bad input, and the output directory it made for them. */
function discardImages(dir: string, outDir: string, outExisted: boolean): void {
  rmSync(dir, { recursive: true, force: true });
  if (!outExisted && readdirSync(outDir).length === 0) rmSync(outDir, { recursive: true, force: true });
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
  makeOutputDirectory(outDir, '--out-dir', shownOut);
  return startCollection({ ...sources, out: resolve(outDir, SAMPLES_FILE) });
}

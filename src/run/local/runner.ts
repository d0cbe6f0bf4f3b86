/**
 * The local executor: runs a k6 scenario file in this Node.js process, at
 * small scale, for CI and smoke tests. For real load, run the same file with
 * k6. Lifecycle as k6's: init (once to read options, then once per VU),
 * setup(), the scenarios, teardown(), the summary and thresholds.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import vm from 'node:vm';
import { InputError } from '../../shared/errors.js';
import { bundleScenario } from './bundle.js';
import { formatDurationMs } from '../duration.js';
import { ScenarioRun, type ExecutorHost, type ScenarioStats } from './executors.js';
import { BUILTIN_METRICS, Registry, sortTags, type Tags } from './metrics.js';
import { parseOptions, scenarioDurationMs, type RunOptions, type ScenarioConfig } from './options.js';
import { writeFileAtomic } from '../../shared/files.js';
import { K6_OUTPUT } from '../k6.js';
import { NdjsonWriter } from './output.js';
import { summaryData, summaryExport, textSummary, type SummaryData } from './summary.js';
import { isLoopbackHost } from '../target.js';
import { evaluateThresholds, parseThresholds, type Threshold, type ThresholdResult } from './thresholds.js';
import { InitContextError, TestAborted, errorMessage } from './errors.js';
import { Vu } from './vu.js';
import type { EngineContext, GroupNode } from './vuApi.js';

/**
 * k6's exit codes (k6's errext/exitcodes package): 99 thresholds, 100/101 setup/teardown timeout, 105
 * external abort, 107 script error, 108 script abort, 110 marked as failed.
 */
export const EXIT = {
  ok: 0,
  thresholdsFailed: 99,
  setupTimeout: 100,
  teardownTimeout: 101,
  timeout: 102,
  externalAbort: 105,
  scriptException: 107,
  scriptAborted: 108,
  markedAsFailed: 110,
} as const;

export interface LocalRunOptions {
  /** Absolute path of the scenario file. */
  scenarioPath: string;
  /** __ENV as the scenario sees it. */
  env: Record<string, string>;
  /** k6.ndjson.gz and summary.json go here. */
  outDir: string;
  /**
   * Cap on the whole run, on top of what the scenarios declare (default: scenarios + graceful stops +
   * setup/teardown timeouts + 30 s).
   */
  hardTimeoutMs?: number;
  /** Where the text summary and progress go (default: process streams). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /**
   * Aborting it stops the run like k6 on Ctrl-C: VUs interrupted, teardown and summary still run (exit code
   * 105).
   */
  signal?: AbortSignal;
}

export interface LocalRunResult {
  exitCode: number;
  thresholds: ThresholdResult[];
  summary: SummaryData;
  scenarios: ScenarioStats[];
  iterationErrors: number;
  startedAt: string;
  endedAt: string;
}

interface Prepared {
  script: vm.Script;
  options: RunOptions;
  rawOptions: Record<string, unknown>;
  thresholds: Threshold[];
  /** VU 0: runs setup(), teardown() and handleSummary(). */
  vu0: Vu;
}

class Engine implements EngineContext, ExecutorHost {
  readonly registry = new Registry();
  readonly sharedArrays = new Map<string, readonly unknown[]>();
  readonly fileCache = new Map<string, Buffer>();
  readonly rootGroup: GroupNode = { name: '', path: '', groups: new Map(), checks: new Map() };
  readonly scenarioDir: string;
  userAgent = '';
  maxRedirects = 10;
  discardResponseBodies = false;
  insecureSkipTLSVerify = false;
  noConnectionReuse = false;
  globalTags: Tags = {};
  options: Record<string, unknown> = {};
  aborted = false;
  abortReason = '';
  abortedByThreshold = false;
  markedFailed = '';
  private abortListeners: Array<() => void> = [];
  private warned = new Set<string>();
  private errorCounts = new Map<string, number>();
  errorTotal = 0;
  private lastVuId = 0;
  vusInitialized = 0;
  vusActive = 0;
  completed = 0;
  interrupted = 0;
  testStart = performance.now();
  setupJson: string | undefined;
  script!: vm.Script;

  constructor(
    scenarioPath: string,
    readonly baseEnv: Record<string, string>,
    private readonly err: (text: string) => void,
  ) {
    this.scenarioDir = dirname(scenarioPath);
  }

  configure(options: RunOptions, raw: Record<string, unknown>): void {
    this.userAgent = options.userAgent;
    this.maxRedirects = options.maxRedirects;
    this.discardResponseBodies = options.discardResponseBodies;
    this.insecureSkipTLSVerify = options.insecureSkipTLSVerify;
    this.noConnectionReuse = options.noConnectionReuse;
    this.globalTags = options.tags;
    this.options = raw;
  }

  allowHost(hostname: string): boolean {
    return isLoopbackHost(hostname);
  }

  warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.err(`WARN ${message}\n`);
  }

  logError(where: string, err: unknown): void {
    this.errorTotal++;
    const message = errorMessage(err);
    const n = (this.errorCounts.get(message) ?? 0) + 1;
    this.errorCounts.set(message, n);
    if (n === 1 && this.errorCounts.size <= 20) this.err(`ERROR ${message} (${where})\n`);
  }

  errorReport(): string {
    if (this.errorTotal === 0) return '';
    const lines = [...this.errorCounts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([m, n]) => `  ${n} × ${m}`);
    return `${this.errorTotal} script error(s) in ${this.errorCounts.size} kind(s):\n${lines.join('\n')}\n`;
  }

  abort(reason: string): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    for (const l of this.abortListeners) l();
  }

  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else this.abortListeners.push(listener);
  }

  failTest(message: string): void {
    if (!this.markedFailed) this.err(`test marked as failed: ${message}\n`);
    this.markedFailed ||= message;
  }

  instanceInfo() {
    return {
      iterationsInterrupted: this.interrupted,
      iterationsCompleted: this.completed,
      vusActive: this.vusActive,
      vusInitialized: this.vusInitialized,
      currentTestRunDuration: performance.now() - this.testStart,
    };
  }

  createVu(): Vu {
    const vu = new Vu(++this.lastVuId, this, this.script);
    this.vusInitialized++;
    return vu;
  }

  private setupCache = new WeakMap<Vu, unknown>();
  setupData(vu: Vu): unknown {
    if (this.setupJson === undefined) return undefined;
    if (!this.setupCache.has(vu)) this.setupCache.set(vu, vu.jsonParse(this.setupJson));
    return this.setupCache.get(vu);
  }

  emitDropped(scenario: ScenarioConfig, count: number): void {
    const tags = sortTags({ ...this.globalTags, ...scenario.tags, scenario: scenario.name });
    const metric = this.registry.metrics.get('dropped_iterations')!;
    for (let i = 0; i < count; i++)
      this.registry.add(metric, 1, tags, performance.timeOrigin + performance.now());
  }

  iterationStarted(): void {}

  vusChanged(delta: number): void {
    this.vusActive += delta;
    this.emitVus();
  }

  iterationEnded(outcome: 'ok' | 'error' | 'interrupted'): void {
    if (outcome === 'interrupted') this.interrupted++;
    else this.completed++;
  }

  emitVus(): void {
    const now = performance.timeOrigin + performance.now();
    const tags = Object.keys(this.globalTags).length ? sortTags(this.globalTags) : null;
    this.registry.add(this.registry.metrics.get('vus')!, this.vusActive, tags, now);
    this.registry.add(this.registry.metrics.get('vus_max')!, this.vusInitialized, tags, now);
  }
}

/**
 * Bundle the scenario, evaluate its init context once, and validate options and thresholds. What the
 * bundler or the options refuse → InputError (exit 2); an exception in the init context →
 * InitContextError (exit 107, as k6).
 */
async function prepare(engine: Engine, path: string): Promise<Prepared> {
  const code = await bundleScenario(path);
  const script = new vm.Script(code, { filename: path });
  engine.script = script;
  let vu0: Vu;
  try {
    vu0 = new Vu(0, engine, script);
  } catch (err) {
    throw new InitContextError(`scenario ${path} failed in the init context: ${errorMessage(err)}`);
  }
  const rawOptions = (vu0.exports.options ?? {}) as Record<string, unknown>;
  let options: RunOptions;
  let thresholds: Threshold[];
  try {
    options = parseOptions(rawOptions);
    thresholds = parseThresholds(rawOptions.thresholds, engine.registry);
  } catch (err) {
    throw new InputError(`scenario ${path}: ${errorMessage(err)}`);
  }
  for (const s of options.scenarios) {
    if (typeof vu0.exports[s.exec] !== 'function') {
      throw new InputError(
        `scenario ${path}: options.scenarios.${s.name}.exec is "${s.exec}", but the file exports no such function`,
      );
    }
  }
  return { script, options, rawOptions, thresholds, vu0 };
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T | typeof TIMEOUT> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      onTimeout();
      resolve(TIMEOUT);
    }, ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
const TIMEOUT = Symbol('timeout');

/** Initialize the VUs the scenarios pre-allocate (k6 does this before setup()). */
function preallocateVus(
  engine: Engine,
  options: RunOptions,
  scenarioPath: string,
): Map<ScenarioConfig, Vu[]> {
  const preallocated = new Map<ScenarioConfig, Vu[]>();
  try {
    for (const s of options.scenarios) {
      const n =
        s.executor === 'constant-arrival-rate' || s.executor === 'ramping-arrival-rate'
          ? s.preAllocatedVUs
          : s.vus;
      const list: Vu[] = [];
      for (let i = 0; i < n; i++) list.push(engine.createVu());
      preallocated.set(s, list);
    }
  } catch (e) {
    throw new InitContextError(
      `scenario ${scenarioPath} failed in the init context of a VU: ${errorMessage(e)}`,
    );
  }
  return preallocated;
}

/** The longest a run may take: setup, teardown, the last scenario to end with its graceful stop, and 30 s. */
function hardLimitMs(options: RunOptions): number {
  return (
    options.setupTimeoutMs +
    options.teardownTimeoutMs +
    Math.max(...options.scenarios.map((s) => s.startTimeMs + scenarioDurationMs(s) + s.gracefulStopMs)) +
    30_000
  );
}

type Write = (text: string) => void;

/** setup(): its result becomes the scenarios' data; null when it succeeded, else the exit code. */
async function runSetup(engine: Engine, vu0: Vu, options: RunOptions, err: Write): Promise<number | null> {
  try {
    const result = await withTimeout(vu0.runLifecycle('setup', undefined), options.setupTimeoutMs, () =>
      vu0.interrupt(),
    );
    if (result === TIMEOUT) {
      err(`setup() did not finish within ${formatDurationMs(options.setupTimeoutMs)}\n`);
      return EXIT.setupTimeout;
    }
    if (result !== undefined) engine.setupJson = JSON.stringify(result);
    return null;
  } catch (e) {
    err(`setup() failed: ${errorMessage(e)}\n`);
    return e instanceof TestAborted ? EXIT.scriptAborted : EXIT.scriptException;
  }
}

/** Thresholds with abortOnFail are checked every 2 s, as k6 does. */
function watchAbortOnFail(engine: Engine, thresholds: Threshold[], err: Write): NodeJS.Timeout | undefined {
  if (!thresholds.some((t) => t.abortOnFail)) return undefined;
  const timer = setInterval(() => {
    const elapsed = performance.now() - engine.testStart;
    const due = thresholds.filter((t) => t.abortOnFail && elapsed >= t.delayAbortEvalMs);
    const failed = evaluateThresholds(due, elapsed / 1000).filter((r) => !r.ok && r.evaluated);
    if (failed.length) {
      engine.abortedByThreshold = true;
      err(
        `thresholds crossed (abortOnFail): ${failed.map((r) => `${r.threshold.key} '${r.threshold.source}'`).join(', ')}; aborting\n`,
      );
      engine.abort('threshold crossed');
    }
  }, 2000);
  timer.unref();
  return timer;
}

/**
 * teardown() with setup()'s data, unless the hard limit stopped the run; null when it succeeded, else the
 * exit code.
 */
async function runTeardown(engine: Engine, vu0: Vu, options: RunOptions, err: Write): Promise<number | null> {
  if (typeof vu0.exports.teardown !== 'function' || (engine.aborted && engine.abortReason === 'hard timeout'))
    return null;
  try {
    const data = engine.setupJson === undefined ? undefined : vu0.jsonParse(engine.setupJson);
    const result = await withTimeout(vu0.runLifecycle('teardown', data), options.teardownTimeoutMs, () =>
      vu0.interrupt(),
    );
    if (result === TIMEOUT) {
      err(`teardown() did not finish within ${formatDurationMs(options.teardownTimeoutMs)}\n`);
      return EXIT.teardownTimeout;
    }
    return null;
  } catch (e) {
    err(`teardown() failed: ${errorMessage(e)}\n`);
    return EXIT.scriptException;
  }
}

function announce(options: RunOptions, err: Write): void {
  const list = options.scenarios.map(
    (s) =>
      `${s.name} (${s.executor}, ${formatDurationMs(scenarioDurationMs(s))}${s.startTimeMs ? ` from ${formatDurationMs(s.startTimeMs)}` : ''})`,
  );
  err(`local executor: ${list.join(', ')}\n`);
}

/** setup(), the scenarios side by side, teardown(); `runs` receives the scenario runs as they start. */
async function runTest(
  engine: Engine,
  prepared: Prepared,
  preallocated: Map<ScenarioConfig, Vu[]>,
  runs: ScenarioRun[],
  err: Write,
): Promise<number> {
  const { options, thresholds, vu0 } = prepared;
  announce(options, err);
  engine.testStart = performance.now();
  engine.emitVus();
  const setupExit = await runSetup(engine, vu0, options, err);
  if (setupExit !== null || engine.aborted) return setupExit ?? EXIT.ok;
  const abortCheck = watchAbortOnFail(engine, thresholds, err);
  try {
    for (const s of options.scenarios) runs.push(new ScenarioRun(engine, s, preallocated.get(s)!));
    await Promise.all(runs.map((r) => r.run()));
    if (engine.aborted) for (const r of runs) r.interruptAll();
  } finally {
    clearInterval(abortCheck);
  }
  return (await runTeardown(engine, vu0, options, err)) ?? EXIT.ok;
}

/**
 * handleSummary() replaces the text summary, as in k6; the default text summary when it is missing or fails.
 */
async function printSummary(vu0: Vu, data: SummaryData, results: ThresholdResult[], out: Write, err: Write) {
  let printed = false;
  if (typeof vu0.exports.handleSummary === 'function') {
    vu0.dead = false;
    try {
      const result = (await vu0.runLifecycle('handleSummary', vu0.jsonParse(JSON.stringify(data)))) as
        | Record<string, unknown>
        | undefined;
      for (const [key, value] of Object.entries(result ?? {})) {
        const text = typeof value === 'string' ? value : Buffer.from(value as ArrayBuffer).toString('utf8');
        if (key === 'stdout') out(text);
        else if (key === 'stderr') err(text);
        else writeFileAtomic(resolvePath(process.cwd(), key), text);
      }
      printed = true;
    } catch (e) {
      err(`handleSummary() failed: ${errorMessage(e)}; printing the default summary\n`);
    }
    vu0.close();
  }
  if (!printed) out(textSummary(data, results, (name) => name in BUILTIN_METRICS));
}

/** k6's exit code for how the test ended, when setup and teardown went well. */
function endingExitCode(engine: Engine, thresholdsFailed: boolean): number {
  if (engine.aborted && engine.abortReason === 'hard timeout') return EXIT.timeout;
  if (engine.aborted && engine.abortReason === 'interrupted') return EXIT.externalAbort;
  if (engine.abortedByThreshold || thresholdsFailed) return EXIT.thresholdsFailed;
  if (engine.aborted) return EXIT.scriptAborted;
  if (engine.markedFailed) return EXIT.markedAsFailed;
  return EXIT.ok;
}

/**
 * One test run. Before any load it throws InputError (bad input) or InitContextError (the init context
 * threw), having written nothing; afterwards the exit code says how the test ended.
 */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const out = opts.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t: string) => void process.stderr.write(t));
  const engine = new Engine(opts.scenarioPath, opts.env, err);
  const prepared = await prepare(engine, opts.scenarioPath);
  const { options, thresholds, vu0 } = prepared;
  engine.configure(options, prepared.rawOptions);
  const preallocated = preallocateVus(engine, options, opts.scenarioPath);

  mkdirSync(opts.outDir, { recursive: true });
  const writer = new NdjsonWriter(join(opts.outDir, K6_OUTPUT));
  engine.registry.out = writer;
  const startedAt = new Date();
  const onUnhandled = (reason: unknown) =>
    engine.logError('unhandled promise rejection in scenario code', reason);
  process.on('unhandledRejection', onUnhandled);
  const vusTimer = setInterval(() => engine.emitVus(), 1000);
  vusTimer.unref();
  const limitMs = opts.hardTimeoutMs ?? hardLimitMs(options);
  const hardTimeout = setTimeout(() => {
    err(`the run exceeded its hard limit of ${formatDurationMs(limitMs)}; stopping\n`);
    engine.abort('hard timeout');
  }, limitMs);
  hardTimeout.unref();
  const onSignal = () => {
    err('interrupted: stopping the scenarios\n');
    engine.abort('interrupted');
  };
  opts.signal?.addEventListener('abort', onSignal);
  let exitCode: number;
  const runs: ScenarioRun[] = [];
  try {
    exitCode = await runTest(engine, prepared, preallocated, runs, err);
  } finally {
    clearInterval(vusTimer);
    clearTimeout(hardTimeout);
    process.off('unhandledRejection', onUnhandled);
    opts.signal?.removeEventListener('abort', onSignal);
    for (const r of runs) r.close();
    vu0.close();
  }

  engine.emitVus();
  const durationMs = performance.now() - engine.testStart;
  const results = evaluateThresholds(thresholds, durationMs / 1000);
  const thresholdsFailed = results.some((r) => !r.ok);
  engine.registry.recording = false;
  await writer.close(true);
  const data = summaryData(engine.registry, results, engine.rootGroup, durationMs, options.summaryTrendStats);
  writeFileAtomic(join(opts.outDir, 'summary.json'), `${JSON.stringify(summaryExport(data), null, 4)}\n`);
  await printSummary(vu0, data, results, out, err);
  err(engine.errorReport());
  for (const r of runs) {
    if (r.stats.dropped) err(`scenario ${r.stats.name}: ${r.stats.dropped} dropped iteration(s)\n`);
    if (r.stats.interrupted)
      err(`scenario ${r.stats.name}: ${r.stats.interrupted} interrupted iteration(s)\n`);
  }
  if (exitCode === EXIT.ok) exitCode = endingExitCode(engine, thresholdsFailed);
  if (thresholdsFailed)
    err(
      `thresholds on metrics ${[...new Set(results.filter((r) => !r.ok).map((r) => `'${r.threshold.key}'`))].join(', ')} have been crossed\n`,
    );
  return {
    exitCode,
    thresholds: results,
    summary: data,
    scenarios: runs.map((r) => r.stats),
    iterationErrors: engine.errorTotal,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
  };
}

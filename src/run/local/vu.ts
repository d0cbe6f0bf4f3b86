/**
 * A virtual user: the bundled scenario evaluated in a node:vm context of its
 * own, so each VU has its own module state and globals (`__ENV`, `__VU`,
 * `__ITER`, `open`, `crypto`, `console`, timers), as in k6, where every VU is
 * a separate JavaScript runtime. All VUs share Node's event loop; a VU's
 * iteration ends when its exec function has settled and nothing it started
 * (requests, timers, sockets) is still pending — k6's per-VU event loop rule.
 * Each k6 module is built in modules/ (one file per module, as k6's own
 * js/modules); the VU assembles them and gives them the surface of vuApi.ts.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TextDecoder, TextEncoder, format } from 'node:util';
import vm from 'node:vm';
import type WS from 'ws';
import { TestAborted, VuInterrupted, errorMessage } from './errors.js';
import { DEFAULT_EXPECTED, type ExpectedStatuses } from './expectedStatuses.js';
import { sortTags, type Tags } from './metrics.js';
import { dataMembers } from './modules/data.js';
import { encodingMembers } from './modules/encoding.js';
import { executionMembers } from './modules/execution.js';
import { httpMembers } from './modules/http.js';
import { k6Members } from './modules/k6.js';
import { metricsMembers } from './modules/metrics.js';
import { k6Module } from './modules/supported.js';
import { timersMembers } from './modules/timers.js';
import { websocketsMembers } from './modules/websockets.js';
import type { Timings } from './timings.js';
import type { EngineContext, Phase, ScenarioState, VuApi } from './vuApi.js';

/**
 * Node's WebCrypto rejects an ArrayBuffer made in another realm (a VU's vm
 * context), which k6's does not: copy buffer arguments into this realm.
 */
function toThisRealm(arg: unknown): unknown {
  if (arg instanceof ArrayBuffer || ArrayBuffer.isView(arg)) return arg;
  const tag = Object.prototype.toString.call(arg);
  if (tag === '[object ArrayBuffer]') return new Uint8Array(new Uint8Array(arg as ArrayBuffer));
  return arg;
}

const realmSafeSubtle = new Proxy(globalThis.crypto.subtle, {
  get(target, prop) {
    const value = Reflect.get(target, prop, target) as unknown;
    if (typeof value !== 'function') return value;
    return (...args: unknown[]) =>
      (value as (...a: unknown[]) => unknown).apply(target, args.map(toThisRealm));
  },
});

const realmSafeCrypto = {
  subtle: realmSafeSubtle,
  getRandomValues: <T extends ArrayBufferView>(array: T): T =>
    globalThis.crypto.getRandomValues(array as never),
  randomUUID: () => globalThis.crypto.randomUUID(),
};

export class Vu implements VuApi {
  readonly ctx: vm.Context;
  exports: Record<string, unknown> = {};
  phase: Phase = 'init';
  scenario: ScenarioState | null = null;
  group = '';
  readonly userTags: Tags = {};
  iterInScenario = 0;
  iterInInstance = 0;
  iterInTest = 0;
  pending = 0;
  dead = false;
  busy = false;
  readonly sockets = new Set<WS>();
  responseCallback: ExpectedStatuses | null = DEFAULT_EXPECTED;
  readonly jsonParse: (text: string) => unknown;
  sleepPending = 0;
  readonly timers = new Map<number, NodeJS.Timeout>();
  nextTimerId = 1;
  private idleWaiter: (() => void) | null = null;
  private idleCheckScheduled = false;
  private agents: { http?: http.Agent; https?: https.Agent } = {};
  private iterationErrors: unknown[] = [];
  private bytesSent = 0;
  private bytesReceived = 0;
  private readonly modules: Record<string, Record<string, unknown>>;

  constructor(
    readonly id: number,
    readonly engine: EngineContext,
    script: vm.Script,
  ) {
    const sandbox: Record<string, unknown> = {};
    this.ctx = vm.createContext(sandbox, {
      name: `VU ${id}`,
      codeGeneration: { strings: true, wasm: false },
    });
    this.jsonParse = vm.runInContext('JSON.parse', this.ctx) as (text: string) => unknown;
    this.modules = this.buildModules();
    const host = { module: (name: string) => this.modules[name] };
    Object.defineProperty(sandbox, '__k6local', { value: host, enumerable: false });
    this.installGlobals(sandbox);
    this.exports = script.runInContext(this.ctx) as Record<string, unknown>;
    this.phase = 'iteration';
  }

  // ---- plumbing used by the k6 API implementations ----

  /** Guard for VU-context APIs. */
  enter(api: string): void {
    if (this.dead)
      throw new VuInterrupted(`${api}: the VU was stopped (graceful stop ran out or the test was aborted)`);
    if (this.phase === 'init')
      throw new Error(
        `${api} is not available in the init context (as in k6: call it from a scenario function, setup or teardown)`,
      );
    if (this.sleepPending > 0) {
      throw new Error(
        `${api} was called while sleep() was running: with the local executor sleep() must be awaited (\`await sleep(s)\`), or use \`await new Promise((r) => setTimeout(r, ms))\`, which k6 supports too`,
      );
    }
  }

  initOnly(api: string): void {
    if (this.phase !== 'init')
      throw new Error(`${api} can only be called in the init context (top level of the scenario), as in k6`);
  }

  agentFor(secure: boolean): http.Agent {
    const keepAlive = !this.engine.noConnectionReuse;
    if (secure) {
      this.agents.https ??= new https.Agent({ keepAlive, maxSockets: Infinity, scheduling: 'lifo' });
      return this.agents.https;
    }
    this.agents.http ??= new http.Agent({ keepAlive, maxSockets: Infinity, scheduling: 'lifo' });
    return this.agents.http;
  }

  /** Tags of a sample emitted now: test-wide, scenario, exec.vu.tags, group, scenario name, plus `extra`. */
  sampleTags(extra?: Tags): Tags {
    const tags: Tags = { ...this.engine.globalTags };
    if (this.scenario) Object.assign(tags, this.scenario.tags);
    Object.assign(tags, this.userTags);
    tags.group = this.group;
    if (this.scenario) tags.scenario = this.scenario.name;
    if (extra) Object.assign(tags, extra);
    return tags;
  }

  private now(): number {
    return performance.timeOrigin + performance.now();
  }

  emit(name: string, value: number, tags: Tags | null, timeMs = this.now()): void {
    if (this.dead) return;
    const metric = this.engine.registry.metrics.get(name)!;
    const sorted = tags ? sortTags(tags) : null;
    this.engine.registry.add(metric, value, sorted, timeMs);
  }

  emitHttp(
    tags: Tags,
    t: Timings,
    failed: boolean | null,
    endMs: number,
    sent: number,
    received: number,
  ): void {
    if (this.dead) return;
    this.countBytes(sent, received);
    const reg = this.engine.registry;
    const sorted = sortTags(tags);
    const json = JSON.stringify(sorted);
    const m = reg.metrics;
    reg.add(m.get('http_reqs')!, 1, sorted, endMs, json);
    reg.add(m.get('http_req_duration')!, t.duration, sorted, endMs, json);
    reg.add(m.get('http_req_blocked')!, t.blocked, sorted, endMs, json);
    reg.add(m.get('http_req_connecting')!, t.connecting, sorted, endMs, json);
    reg.add(m.get('http_req_tls_handshaking')!, t.tls_handshaking, sorted, endMs, json);
    reg.add(m.get('http_req_sending')!, t.sending, sorted, endMs, json);
    reg.add(m.get('http_req_waiting')!, t.waiting, sorted, endMs, json);
    reg.add(m.get('http_req_receiving')!, t.receiving, sorted, endMs, json);
    if (failed !== null) reg.add(m.get('http_req_failed')!, failed ? 1 : 0, sorted, endMs, json);
  }

  countBytes(sent: number, received: number): void {
    if (this.dead) return;
    this.bytesSent += sent;
    this.bytesReceived += received;
  }

  /** data_sent and data_received of what ran since the last call, as k6 emits its dialer's counts. */
  private emitBytes(tags: Tags, timeMs: number): void {
    this.emit('data_sent', this.bytesSent, tags, timeMs);
    this.emit('data_received', this.bytesReceived, tags, timeMs);
    this.bytesSent = 0;
    this.bytesReceived = 0;
  }

  pendingAdd(): void {
    this.pending++;
  }

  pendingDone(): void {
    this.pending--;
    if (this.pending <= 0) this.scheduleIdleCheck();
  }

  private scheduleIdleCheck(): void {
    if (!this.idleWaiter || this.idleCheckScheduled) return;
    this.idleCheckScheduled = true;
    // A macrotask later, so promise continuations that start new work run first.
    setImmediate(() => {
      this.idleCheckScheduled = false;
      if (this.pending <= 0 && this.idleWaiter) {
        const w = this.idleWaiter;
        this.idleWaiter = null;
        w();
      }
    });
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiter = resolve;
      this.scheduleIdleCheck();
    });
  }

  recordError(err: unknown): void {
    if (this.dead) return;
    if (this.phase === 'iteration' && this.busy) this.iterationErrors.push(err);
    else this.engine.logError(`VU ${this.id}`, err);
  }

  /** Stop this VU for good: timers, sockets and connections go, and further k6 calls throw. */
  interrupt(): void {
    this.dead = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.terminate();
    this.sockets.clear();
    this.agents.http?.destroy();
    this.agents.https?.destroy();
    if (this.idleWaiter) {
      const w = this.idleWaiter;
      this.idleWaiter = null;
      w();
    }
  }

  /** Close idle keep-alive connections (end of test). */
  close(): void {
    this.agents.http?.destroy();
    this.agents.https?.destroy();
  }

  // ---- running scenario code ----

  private async settle(result: unknown): Promise<unknown> {
    let value = result;
    if (value && typeof (value as { then?: unknown }).then === 'function')
      value = await (value as Promise<unknown>);
    if (this.sleepPending > 0)
      throw new Error(
        'sleep() was not awaited: with the local executor write `await sleep(s)` (k6 accepts it too), or use setTimeout',
      );
    await this.idle();
    return value;
  }

  /** setup(), teardown() or handleSummary(): the VU 0 lifecycle functions. */
  async runLifecycle(name: 'setup' | 'teardown' | 'handleSummary', arg: unknown): Promise<unknown> {
    const fn = this.exports[name];
    if (typeof fn !== 'function') return undefined;
    this.phase = name === 'handleSummary' ? 'summary' : name;
    this.group = name === 'handleSummary' ? '' : `::${name}`;
    this.scenario = null;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    try {
      return await this.settle((fn as (a: unknown) => unknown).call(undefined, arg));
    } finally {
      // k6 counts setup's and teardown's bytes too (its runFn emits the dialer's samples for every part).
      if (name !== 'handleSummary') this.emitBytes(this.sampleTags(), this.now());
      this.group = '';
      this.phase = 'iteration';
    }
  }

  /** One iteration of `execName`; resolves when its event loop is empty. Errors are logged, as k6 does. */
  async runIteration(
    execName: string,
    data: unknown,
    scenario: ScenarioState,
    iterInTest: number,
  ): Promise<boolean> {
    const fn = this.exports[execName] as (data: unknown) => unknown;
    this.scenario = scenario;
    this.busy = true;
    this.iterInTest = iterInTest;
    this.group = '';
    this.iterationErrors = [];
    this.bytesSent = 0;
    this.bytesReceived = 0;
    const ctx = this.ctx as Record<string, unknown>;
    ctx.__ITER = this.iterInScenario;
    if (scenario.env) ctx.__ENV = this.scenarioEnv(scenario);
    const started = performance.now();
    const startEpoch = this.now();
    let ok = true;
    try {
      await this.settle(fn.call(undefined, data));
    } catch (err) {
      this.iterationErrors.unshift(err);
    }
    this.group = '';
    if (this.dead) return false;
    for (const err of this.iterationErrors) {
      if (err instanceof TestAborted) continue;
      ok = false;
      this.engine.logError(`scenario ${scenario.name}, VU ${this.id}, iteration ${this.iterInScenario}`, err);
    }
    const tags = this.sampleTags();
    const end = startEpoch + (performance.now() - started);
    this.emitBytes(tags, end);
    this.emit('iteration_duration', performance.now() - started, tags, end);
    this.emit('iterations', 1, tags, end);
    this.iterInScenario++;
    this.iterInInstance++;
    this.busy = false;
    return ok;
  }

  private envCache = new WeakMap<ScenarioState, Record<string, string>>();
  /** __ENV during a scenario with its own `env`: the run's env plus the scenario's. */
  private scenarioEnv(scenario: ScenarioState): Record<string, string> {
    let env = this.envCache.get(scenario);
    if (!env) {
      env = { ...this.engine.baseEnv, ...scenario.env };
      this.envCache.set(scenario, env);
    }
    return env;
  }

  // ---- globals and modules ----

  private installGlobals(g: Record<string, unknown>): void {
    g.__ENV = { ...this.engine.baseEnv };
    g.__VU = this.id;
    g.__ITER = 0;
    g.crypto = realmSafeCrypto;
    g.TextEncoder = TextEncoder;
    g.TextDecoder = TextDecoder;
    const write =
      (level: string) =>
      (...args: unknown[]) => {
        process.stderr.write(`${level}[VU ${this.id}] ${format(...args)}\n`);
      };
    g.console = {
      log: write(''),
      info: write(''),
      debug: write(''),
      warn: write('WARN '),
      error: write('ERROR '),
    };
    g.open = (path: unknown, mode?: unknown) => this.open(path, mode);
    Object.assign(g, timersMembers(this));
  }

  /**
   * open(path, mode): the file read once per test (init context only); with mode "b" an ArrayBuffer of this
   * VU's realm holding exactly the file's bytes (a copy per VU, as k6 gives), else its text as UTF-8. A
   * relative path is resolved against the scenario file's directory. k6 resolves it against the module
   * whose top-level code is running, which is the same for opens made by the scenario file (or by functions
   * it calls); the bundle here no longer knows the modules, so an open() at the top level of an imported
   * module resolves differently: pass absolute paths (the scenarios' inputs are).
   */
  private open(path: unknown, mode?: unknown): string | ArrayBuffer {
    this.initOnly('open()');
    if (typeof path !== 'string') throw new Error('open(path): path must be a string');
    if (mode !== undefined && mode !== 'b' && mode !== '')
      throw new Error(`open(path, mode): mode must be "b" or omitted, got ${JSON.stringify(mode)}`);
    const abs = resolvePath(this.engine.scenarioDir, path);
    let data = this.engine.fileCache.get(abs);
    if (!data) {
      try {
        data = readFileSync(abs);
      } catch (err) {
        throw new Error(
          `open("${path}"): ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)} (${abs})`,
        );
      }
      this.engine.fileCache.set(abs, data);
    }
    if (mode !== 'b') return data.toString('utf8');
    const RealmArrayBuffer = vm.runInContext('ArrayBuffer', this.ctx) as ArrayBufferConstructor;
    const copy = new RealmArrayBuffer(data.byteLength);
    new Uint8Array(copy).set(data);
    return copy;
  }

  /** The k6 modules a scenario may import, each bound to this VU; both websockets modules share one class. */
  private buildModules(): Record<string, Record<string, unknown>> {
    const websockets = websocketsMembers(this);
    return {
      k6: k6Module('k6', k6Members(this)),
      'k6/http': k6Module('k6/http', httpMembers(this)),
      'k6/metrics': k6Module('k6/metrics', metricsMembers(this)),
      'k6/data': k6Module('k6/data', dataMembers(this)),
      'k6/execution': k6Module('k6/execution', executionMembers(this)),
      'k6/timers': k6Module('k6/timers', timersMembers(this)),
      'k6/encoding': k6Module('k6/encoding', encodingMembers()),
      'k6/websockets': k6Module('k6/websockets', websockets),
      'k6/experimental/websockets': k6Module('k6/experimental/websockets', websockets),
    };
  }
}

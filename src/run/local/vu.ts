/**
 * A virtual user: the bundled scenario evaluated in a node:vm context of its
 * own, so each VU has its own module state and globals (`__ENV`, `__VU`,
 * `__ITER`, `open`, `crypto`, `console`, timers), as in k6, where every VU is
 * a separate JavaScript runtime. All VUs share Node's event loop; a VU's
 * iteration ends when its exec function has settled and nothing it started
 * (requests, timers, sockets) is still pending — k6's per-VU event loop rule.
 */
import { readFileSync } from 'node:fs';
import { seededRng } from '../../shared/random.js';
import http from 'node:http';
import https from 'node:https';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TextDecoder, TextEncoder, format } from 'node:util';
import vm from 'node:vm';
import type WS from 'ws';
import {
  DEFAULT_EXPECTED,
  ExpectedStatuses,
  FileData,
  HttpUrl,
  expectedStatuses,
  httpRequest,
  toBytes,
  type Timings,
} from './http.js';
import { sortTags, type Metric, type MetricType, type Registry, type Tags } from './metrics.js';
import { strictModule } from './modules.js';
import { makeWebSocketClass } from './websocket.js';

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

export interface GroupNode {
  name: string;
  path: string;
  groups: Map<string, GroupNode>;
  checks: Map<string, { passes: number; fails: number }>;
}

export interface ScenarioState {
  name: string;
  executor: string;
  startEpochMs: number;
  tags: Tags;
  env: Record<string, string> | null;
  progress(): number;
  iterationsStarted: number; // iterationInInstance of the scenario
}

export interface EngineContext {
  registry: Registry;
  scenarioDir: string;
  userAgent: string;
  maxRedirects: number;
  discardResponseBodies: boolean;
  insecureSkipTLSVerify: boolean;
  noConnectionReuse: boolean;
  globalTags: Tags;
  baseEnv: Record<string, string>;
  options: Record<string, unknown>;
  sharedArrays: Map<string, readonly unknown[]>;
  fileCache: Map<string, Buffer>;
  rootGroup: GroupNode;
  allowHost(hostname: string): boolean;
  warnOnce(key: string, message: string): void;
  logError(where: string, err: unknown): void;
  abort(reason: string): void;
  failTest(message: string): void;
  instanceInfo(): {
    iterationsInterrupted: number;
    iterationsCompleted: number;
    vusActive: number;
    vusInitialized: number;
    currentTestRunDuration: number;
  };
}

/** Thrown into scenario code once its VU has been stopped (graceful stop expired, abort). */
export class VuInterrupted extends Error {
  override readonly name = 'VuInterrupted';
}
/** exec.test.abort(): stops the whole test. */
export class TestAborted extends Error {
  override readonly name = 'TestAborted';
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as { name?: unknown; message: unknown };
    return e.name && e.name !== 'Error' ? `${String(e.name)}: ${String(e.message)}` : String(e.message);
  }
  return String(err);
}

function ensureGroup(root: GroupNode, path: string): GroupNode {
  if (path === '') return root;
  let node = root;
  let cur = '';
  for (const name of path.split('::').slice(1)) {
    cur = `${cur}::${name}`;
    let child = node.groups.get(name);
    if (!child) {
      child = { name, path: cur, groups: new Map(), checks: new Map() };
      node.groups.set(name, child);
    }
    node = child;
  }
  return node;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export type Phase = 'init' | 'setup' | 'iteration' | 'teardown' | 'summary';

export class Vu {
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
  private sleepPending = 0;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextTimerId = 1;
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

  private initOnly(api: string): void {
    if (this.phase !== 'init')
      throw new Error(`${api} can only be called in the init context (top level of the scenario), as in k6`);
  }

  agentFor(secure: boolean): http.Agent {
    const keepAlive = !this.engine.noConnectionReuse;
    if (secure)
      return (this.agents.https ??= new https.Agent({ keepAlive, maxSockets: Infinity, scheduling: 'lifo' }));
    return (this.agents.http ??= new http.Agent({ keepAlive, maxSockets: Infinity, scheduling: 'lifo' }));
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
    this.bytesSent += sent;
    this.bytesReceived += received;
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
    try {
      return await this.settle((fn as (a: unknown) => unknown).call(undefined, arg));
    } finally {
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
    this.emit('data_sent', this.bytesSent, tags, end);
    this.emit('data_received', this.bytesReceived, tags, end);
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
    const vu = this;
    g.__ENV = { ...this.engine.baseEnv };
    g.__VU = this.id;
    g.__ITER = 0;
    g.crypto = realmSafeCrypto;
    g.TextEncoder = TextEncoder;
    g.TextDecoder = TextDecoder;
    const write =
      (level: string) =>
      (...args: unknown[]) => {
        process.stderr.write(`${level}[VU ${vu.id}] ${format(...args)}\n`);
      };
    g.console = {
      log: write(''),
      info: write(''),
      debug: write(''),
      warn: write('WARN '),
      error: write('ERROR '),
    };
    g.open = (path: unknown, mode?: unknown) => {
      vu.initOnly('open()');
      if (typeof path !== 'string') throw new Error('open(path): path must be a string');
      if (mode !== undefined && mode !== 'b' && mode !== '')
        throw new Error(`open(path, mode): mode must be "b" or omitted, got ${JSON.stringify(mode)}`);
      const abs = resolvePath(vu.engine.scenarioDir, path);
      let data = vu.engine.fileCache.get(abs);
      if (!data) {
        try {
          data = readFileSync(abs);
        } catch (err) {
          throw new Error(
            `open("${path}"): ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)} (${abs})`,
          );
        }
        vu.engine.fileCache.set(abs, data);
      }
      if (mode === 'b') return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      return data.toString('utf8');
    };
    Object.assign(g, this.timerFunctions());
  }

  private timerFunctions() {
    const vu = this;
    const schedule =
      (repeat: boolean) =>
      (fn: unknown, delay?: unknown, ...args: unknown[]): number => {
        vu.enter(repeat ? 'setInterval()' : 'setTimeout()');
        if (typeof fn !== 'function')
          throw new Error(`${repeat ? 'setInterval' : 'setTimeout'}: the callback must be a function`);
        const id = vu.nextTimerId++;
        const ms = Math.max(0, Number(delay) || 0);
        const run = () => {
          if (!repeat) {
            vu.timers.delete(id);
          }
          try {
            if (!vu.dead) (fn as (...a: unknown[]) => unknown)(...args);
          } catch (err) {
            vu.recordError(err);
          } finally {
            if (!repeat) vu.pendingDone();
          }
        };
        vu.timers.set(id, repeat ? setInterval(run, ms) : setTimeout(run, ms));
        vu.pendingAdd();
        return id;
      };
    const clear = (id: unknown) => {
      const handle = vu.timers.get(Number(id));
      if (!handle) return;
      clearTimeout(handle);
      vu.timers.delete(Number(id));
      vu.pendingDone();
    };
    return {
      setTimeout: schedule(false),
      setInterval: schedule(true),
      clearTimeout: clear,
      clearInterval: clear,
    };
  }

  private buildModules(): Record<string, Record<string, unknown>> {
    const vu = this;
    const engine = this.engine;
    const mod = (name: string, members: Record<string, unknown>) => {
      const m = { ...members };
      return { ...members, default: strictModule(name, m) };
    };

    // k6
    const check = (val: unknown, sets: unknown, tags?: unknown): boolean => {
      vu.enter('check()');
      if (!sets || typeof sets !== 'object')
        throw new Error('check(val, sets): sets must be an object of name → function');
      const extra: Tags = {};
      for (const [k, v] of Object.entries((tags ?? {}) as Record<string, unknown>)) extra[k] = String(v);
      let all = true;
      for (const [name, test] of Object.entries(sets as Record<string, unknown>)) {
        let result = typeof test === 'function' ? (test as (v: unknown) => unknown)(val) : test;
        if (result && typeof (result as { then?: unknown }).then === 'function') {
          throw new Error(
            `check "${name}" returned a Promise: k6's check() is synchronous; await the value first, then check it`,
          );
        }
        result = Boolean(result);
        all &&= result as boolean;
        vu.emit('checks', result ? 1 : 0, vu.sampleTags({ ...extra, check: name }));
        const node = ensureGroup(engine.rootGroup, vu.group);
        const c = node.checks.get(name) ?? { passes: 0, fails: 0 };
        if (result) c.passes++;
        else c.fails++;
        node.checks.set(name, c);
      }
      return all;
    };
    const group = (name: unknown, fn: unknown): unknown => {
      vu.enter('group()');
      if (typeof name !== 'string' || name === '' || name.includes('::'))
        throw new Error('group(name, fn): name must be a non-empty string without "::"');
      if (typeof fn !== 'function') throw new Error('group(name, fn): fn must be a function');
      if ((fn as { constructor?: { name?: string } }).constructor?.name === 'AsyncFunction') {
        throw new Error(
          `group("${name}") was given an async function: k6 rejects async group callbacks (unless run with --features async-metric-context); keep the group body synchronous`,
        );
      }
      const parent = vu.group;
      const path = `${parent}::${name}`;
      ensureGroup(engine.rootGroup, path);
      vu.group = path;
      const t0 = performance.now();
      try {
        const result = (fn as () => unknown)();
        if (result && typeof (result as { then?: unknown }).then === 'function') {
          throw new Error(
            `group("${name}") callback returned a Promise: k6 rejects async group callbacks; keep the group body synchronous`,
          );
        }
        return result;
      } finally {
        vu.emit('group_duration', performance.now() - t0, vu.sampleTags());
        vu.group = parent;
      }
    };
    const sleep = (seconds: unknown): Promise<void> => {
      vu.enter('sleep()');
      const ms = Math.max(0, Number(seconds) * 1000 || 0);
      vu.sleepPending++;
      vu.pendingAdd();
      return new Promise((resolve) => {
        setTimeout(() => {
          vu.sleepPending--;
          vu.pendingDone();
          resolve();
        }, ms);
      });
    };
    const fail = (message?: unknown): never => {
      throw new Error(message === undefined ? 'fail() called' : String(message));
    };
    const randomSeed = (seed: unknown) => {
      const rng = seededRng(Number(seed) || 0);
      (vm.runInContext('Math', vu.ctx) as { random: () => number }).random = () => rng.next();
    };

    // k6/http
    const asyncRequest = (method: unknown, url: unknown, body?: unknown, params?: unknown) => {
      vu.enter('http.asyncRequest()');
      vu.pendingAdd();
      return httpRequest(vu, method, url, body, params).finally(() => vu.pendingDone());
    };
    const syncForm = (name: string) => () => {
      throw new Error(
        `http.${name}() is synchronous, which the local executor cannot do in one Node.js process; use \`await http.asyncRequest(method, url, body, params)\` (k6 supports it too) in an async function`,
      );
    };
    const httpMembers: Record<string, unknown> = {
      asyncRequest,
      request: syncForm('request'),
      get: syncForm('get'),
      head: syncForm('head'),
      post: syncForm('post'),
      put: syncForm('put'),
      patch: syncForm('patch'),
      del: syncForm('del'),
      options: syncForm('options'),
      url: (strings: TemplateStringsArray, ...values: unknown[]) => {
        let url = '';
        let name = '';
        strings.forEach((s, i) => {
          url += s;
          name += s;
          if (i < values.length) {
            url += String(values[i]);
            name += '${}';
          }
        });
        return new HttpUrl(url, name);
      },
      file: (data: unknown, filename?: unknown, contentType?: unknown) =>
        new FileData(
          toBytes(data, 'http.file()'),
          typeof filename === 'string' ? filename : 'file',
          typeof contentType === 'string' ? contentType : 'application/octet-stream',
        ),
      expectedStatuses,
      setResponseCallback: (cb: unknown) => {
        if (cb !== null && !(cb instanceof ExpectedStatuses))
          throw new Error('http.setResponseCallback(): pass http.expectedStatuses(...) or null');
        vu.responseCallback = cb as ExpectedStatuses | null;
      },
    };

    // k6/metrics
    const metricClass = (type: MetricType) =>
      class {
        readonly name: string;
        #metric: Metric;
        constructor(name: unknown, isTime?: unknown) {
          vu.initOnly(`new ${type[0]!.toUpperCase()}${type.slice(1)}()`);
          if (typeof name !== 'string') throw new Error('custom metrics need a name');
          this.name = name;
          this.#metric = engine.registry.define(
            name,
            type,
            type === 'trend' && isTime === true ? 'time' : 'default',
          );
        }
        add(value: unknown, tags?: unknown): void {
          vu.enter(`${this.name}.add()`);
          let v: number;
          if (typeof value === 'boolean') v = value ? 1 : 0;
          else if (typeof value === 'number' && Number.isFinite(value)) v = value;
          else throw new Error(`${this.name}.add(${String(value)}): expected a finite number or a boolean`);
          if (this.#metric.type === 'rate') v = v !== 0 ? 1 : 0;
          const extra: Tags = {};
          for (const [k, val] of Object.entries((tags ?? {}) as Record<string, unknown>))
            extra[k] = String(val);
          vu.emit(this.name, v, vu.sampleTags(extra));
        }
      };

    // k6/data
    function SharedArray(name: unknown, fn: unknown): readonly unknown[] {
      vu.initOnly('new SharedArray()');
      if (typeof name !== 'string' || name === '')
        throw new Error('new SharedArray(name, fn): name must be a non-empty string');
      const cached = engine.sharedArrays.get(name);
      if (cached) return cached;
      if (typeof fn !== 'function')
        throw new Error('new SharedArray(name, fn): fn must be a function returning an array');
      const data = (fn as () => unknown)();
      if (!Array.isArray(data)) throw new Error(`SharedArray "${name}": the function must return an array`);
      const frozen = deepFreeze(JSON.parse(JSON.stringify(data)) as unknown[]);
      // k6's SharedArray offers only length, [index] and for…of: anything else
      // (slice, map, forEach…) would pass here and fail under k6, so refuse it.
      const view = new Proxy(frozen, {
        get(target, prop, receiver) {
          if (
            prop === 'length' ||
            prop === Symbol.iterator ||
            (typeof prop === 'string' && /^\d+$/.test(prop))
          ) {
            return Reflect.get(target, prop, receiver);
          }
          if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
          throw new Error(
            `SharedArray "${name}": .${prop} is not available in k6 (a SharedArray supports length, [index] and for…of)`,
          );
        },
      });
      engine.sharedArrays.set(name, view);
      return view;
    }

    // k6/execution
    const strictObject = (what: string, target: object) =>
      new Proxy(target, {
        get(t, prop, receiver) {
          if (typeof prop !== 'string' || prop in t || prop === 'then' || prop === 'toJSON')
            return Reflect.get(t, prop, receiver);
          throw new Error(
            `unsupported k6 API: exec.${what}.${prop} is not implemented by the local executor; run this scenario with k6 (--engine k6)`,
          );
        },
      });
    const needScenario = (prop: string): ScenarioState => {
      if (!vu.scenario)
        throw new Error(`exec.scenario.${prop} is only available inside a scenario iteration`);
      return vu.scenario;
    };
    const vuTags = new Proxy(vu.userTags, {
      get(t, prop) {
        if (typeof prop !== 'string') return undefined;
        return vu.sampleTags()[prop];
      },
      set(t, prop, value) {
        if (typeof prop !== 'string') return false;
        if (!['string', 'number', 'boolean'].includes(typeof value))
          throw new Error(`exec.vu.tags.${prop}: tag values must be strings, numbers or booleans`);
        t[prop] = String(value);
        return true;
      },
      deleteProperty(t, prop) {
        if (typeof prop === 'string') delete t[prop];
        return true;
      },
    });
    const execMembers = {
      scenario: strictObject('scenario', {
        get name() {
          return needScenario('name').name;
        },
        get executor() {
          return needScenario('executor').executor;
        },
        get startTime() {
          return needScenario('startTime').startEpochMs;
        },
        get progress() {
          return needScenario('progress').progress();
        },
        get iterationInInstance() {
          needScenario('iterationInInstance');
          return vu.iterInTest;
        },
        get iterationInTest() {
          needScenario('iterationInTest');
          return vu.iterInTest;
        },
      }),
      instance: strictObject('instance', {
        get iterationsInterrupted() {
          return engine.instanceInfo().iterationsInterrupted;
        },
        get iterationsCompleted() {
          return engine.instanceInfo().iterationsCompleted;
        },
        get vusActive() {
          return engine.instanceInfo().vusActive;
        },
        get vusInitialized() {
          return engine.instanceInfo().vusInitialized;
        },
        get currentTestRunDuration() {
          return engine.instanceInfo().currentTestRunDuration;
        },
      }),
      test: strictObject('test', {
        abort(reason?: unknown) {
          const text = reason === undefined ? 'test aborted by the script' : String(reason);
          engine.abort(text);
          throw new TestAborted(text);
        },
        fail(message?: unknown) {
          engine.failTest(message === undefined ? 'test marked as failed by the script' : String(message));
        },
        get options() {
          return engine.options;
        },
      }),
      vu: strictObject('vu', {
        get idInInstance() {
          return vu.id;
        },
        get idInTest() {
          return vu.id;
        },
        get iterationInInstance() {
          return vu.iterInInstance;
        },
        get iterationInScenario() {
          return vu.iterInScenario;
        },
        get tags() {
          return vuTags;
        },
      }),
    };

    // k6/encoding
    const b64encode = (input: unknown, encoding?: unknown) => {
      const buf = toBytes(input, 'b64encode()');
      switch (encoding ?? 'std') {
        case 'std':
          return buf.toString('base64');
        case 'rawstd':
          return buf.toString('base64').replace(/=+$/, '');
        case 'url':
          return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
        case 'rawurl':
          return buf.toString('base64url');
        default:
          throw new Error(
            `b64encode: unknown encoding ${JSON.stringify(encoding)} (std, rawstd, url, rawurl)`,
          );
      }
    };
    const b64decode = (input: unknown, encoding?: unknown, fmt?: unknown) => {
      if (typeof input !== 'string') throw new Error('b64decode: input must be a string');
      if (encoding !== undefined && !['std', 'rawstd', 'url', 'rawurl'].includes(encoding as string))
        throw new Error(`b64decode: unknown encoding ${JSON.stringify(encoding)}`);
      const buf = Buffer.from(input.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (fmt === 's') return buf.toString('utf8');
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    };

    const timers = this.timerFunctions();
    const WebSocket = makeWebSocketClass(vu);
    return {
      k6: mod('k6', { check, fail, group, sleep, randomSeed }),
      'k6/http': mod('k6/http', httpMembers),
      'k6/metrics': mod('k6/metrics', {
        Counter: metricClass('counter'),
        Gauge: metricClass('gauge'),
        Rate: metricClass('rate'),
        Trend: metricClass('trend'),
      }),
      'k6/data': mod('k6/data', { SharedArray }),
      'k6/execution': mod('k6/execution', execMembers),
      'k6/timers': mod('k6/timers', timers),
      'k6/encoding': mod('k6/encoding', { b64encode, b64decode }),
      'k6/websockets': mod('k6/websockets', { WebSocket }),
      'k6/experimental/websockets': mod('k6/experimental/websockets', { WebSocket }),
    };
  }
}

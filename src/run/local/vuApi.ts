/**
 * What the k6 module implementations (modules/, http.ts, websocket.ts) see of
 * a virtual user and of the engine running it. vu.ts implements it; keeping
 * the surface here lets those modules depend on it without depending on vu.ts,
 * which assembles them.
 */
import type http from 'node:http';
import type vm from 'node:vm';
import type WS from 'ws';
import type { ExpectedStatuses } from './expectedStatuses.js';
import type { Registry, Tags } from './metrics.js';
import type { Timings } from './timings.js';

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

export type Phase = 'init' | 'setup' | 'iteration' | 'teardown' | 'summary';

export interface VuApi {
  readonly id: number;
  readonly engine: EngineContext;
  /** The VU's vm context (its own `Math`, `JSON`, globals). */
  readonly ctx: vm.Context;
  readonly jsonParse: (text: string) => unknown;
  readonly dead: boolean;
  scenario: ScenarioState | null;
  /** The current group path, `::a::b`, '' at the top. */
  group: string;
  readonly userTags: Tags;
  readonly iterInScenario: number;
  readonly iterInInstance: number;
  readonly iterInTest: number;
  readonly sockets: Set<WS>;
  responseCallback: ExpectedStatuses | null;
  /** sleep() calls not yet settled: other k6 calls meanwhile mean a missing `await`. */
  sleepPending: number;
  /** k6/timers handles by id, cleared when the VU is stopped. */
  readonly timers: Map<number, NodeJS.Timeout>;
  nextTimerId: number;
  /** Guard for VU-context APIs. */
  enter(api: string): void;
  /** Guard for init-context APIs. */
  initOnly(api: string): void;
  agentFor(secure: boolean): http.Agent;
  sampleTags(extra?: Tags): Tags;
  emit(name: string, value: number, tags: Tags | null, timeMs?: number): void;
  emitHttp(
    tags: Tags,
    t: Timings,
    failed: boolean | null,
    endMs: number,
    sent: number,
    received: number,
  ): void;
  /** Bytes a socket carried (WebSockets), counted into the data_sent/data_received of the running part. */
  countBytes(sent: number, received: number): void;
  pendingAdd(): void;
  pendingDone(): void;
  recordError(err: unknown): void;
}

import { type ChildProcess, fork } from 'node:child_process';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MetricsJson, Role, StartMessage, ToChild, ToPrimary } from './messages.js';

/** main.ts beside this module: `.ts` when the tests run the sources, `.js` in dist/. */
const ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url),
);

/** A process that has not said `ready` by then is not coming. */
const START_TIMEOUT_MS = 60_000;
/**
 * How long a process may take to stop before it is killed: Sidekiq's shutdown timeout (8 s), one fetch
 * timeout and the bookkeeping after it; a web worker's 8 s for requests in flight.
 */
const STOP_TIMEOUT_MS = 15_000;
/** How long the exporter waits for one process's metrics. */
const COLLECT_TIMEOUT_MS = 2_000;

/** One OS process of the testbed, as `RunningTestbed.processes` lists it. */
export interface TestbedProcess {
  role: Role;
  pid: number;
  /** A Sidekiq process's identity in the `processes` set (hostname:pid:nonce). */
  identity?: string;
}

export interface ForkOptions {
  /** Node flags for the child (a TypeScript loader when the testbed runs from source). */
  execArgv: string[];
  /** The listening socket a web worker or streaming serves. */
  listening?: Server;
  /** Messages for the primary itself: a job's end, a scrape. */
  onMessage(from: ForkedProcess, message: ToPrimary): void;
}

/** The primary's handle on one forked process: its start, its metrics, its graceful stop. */
export class ForkedProcess implements TestbedProcess {
  readonly role: Role;
  readonly pid: number;
  identity: string | undefined;
  /** Resolves when the process serves; rejects when it failed, exited or took too long to start. */
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly collects = new Map<number, (metrics: MetricsJson | undefined) => void>();
  private nextId = 0;
  private stopping: Promise<void> | undefined;

  constructor(start: StartMessage, o: ForkOptions) {
    this.role = start.role;
    this.child = fork(ENTRY, [start.role], {
      execArgv: o.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.pid = this.child.pid ?? 0;
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`),
        START_TIMEOUT_MS,
      );
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`testbed ${this.role} process ${this.pid} ${why}`));
      };
      this.child.on('message', (message: ToPrimary) => {
        if (message.kind === 'hello') this.child.send(start, o.listening);
        else if (message.kind === 'ready') {
          clearTimeout(timer);
          this.identity = message.identity;
          resolve();
        } else if (message.kind === 'failed') fail(`failed to start: ${message.message}`);
        else if (message.kind === 'metrics') this.collects.get(message.id)?.(message.metrics);
        else o.onMessage(this, message);
      });
      this.child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    });
    this.ready.then(
      () => this.reportUnexpectedExit(),
      () => undefined,
    );
  }

  private reportUnexpectedExit(): void {
    this.child.once('exit', (code, signal) => {
      if (!this.stopping)
        console.error(`testbed: the ${this.role} process ${this.pid} exited (${signal ?? `code ${code}`})`);
    });
  }

  send(message: ToChild): void {
    if (this.child.connected) this.child.send(message);
  }

  /** This process's own metrics; undefined when it does not answer in time (gone, or busy). */
  collect(): Promise<MetricsJson | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), COLLECT_TIMEOUT_MS);
      const done = (metrics: MetricsJson | undefined) => {
        clearTimeout(timer);
        this.collects.delete(id);
        resolve(metrics);
      };
      this.collects.set(id, done);
      this.send({ kind: 'collect', id });
    });
  }

  /** Ask for a graceful stop; kill the process if it has not exited within STOP_TIMEOUT_MS. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      this.send({ kind: 'stop' });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>(
        (resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)),
      );
      if ((await Promise.race([this.exited, late])) === 'late') {
        console.error(`testbed: the ${this.role} process ${this.pid} did not stop in time; killing it`);
        this.child.kill('SIGKILL');
        await this.exited;
      }
      clearTimeout(timer);
    })();
    return this.stopping;
  }
}

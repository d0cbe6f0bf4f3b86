/**
 * Scenario executors. Arrival-rate executors are open-model: iteration starts
 * are scheduled by the clock (overdue starts are made up at once, never
 * skipped), each takes a free VU, and a start that finds none counts as a
 * dropped iteration while one more VU (up to maxVUs) is initialized in the
 * background — k6's behaviour
 * (https://grafana.com/docs/k6/latest/using-k6/scenarios/concepts/arrival-rate-vu-allocation/).
 * When a scenario's time is up, running iterations get its gracefulStop, then
 * their VUs are interrupted.
 */
import { performance } from 'node:perf_hooks';
import { arrivalTimes, scenarioDurationMs, type ScenarioConfig } from './options.js';
import type { Vu } from './vu.js';
import type { ScenarioState } from './vuApi.js';

/** What an executor needs from the engine. */
export interface ExecutorHost {
  createVu(): Vu;
  setupData(vu: Vu): unknown;
  emitDropped(scenario: ScenarioConfig, count: number): void;
  iterationStarted(): void;
  vusChanged(delta: number): void;
  iterationEnded(ok: 'ok' | 'error' | 'interrupted'): void;
  logError(where: string, err: unknown): void;
  warnOnce(key: string, message: string): void;
  readonly aborted: boolean;
  onAbort(listener: () => void): void;
}

export interface ScenarioStats {
  name: string;
  scheduled: number;
  started: number;
  dropped: number;
  interrupted: number;
  /** How late iteration starts were against their schedule (ms), arrival-rate only. */
  latenessMs: number[];
  firstStartMs: number;
  lastStartMs: number;
}

function delay(ms: number, cancel: { cancelled: boolean; wake?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || cancel.cancelled) return resolve();
    const t = setTimeout(resolve, ms);
    cancel.wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

export class ScenarioRun {
  readonly stats: ScenarioStats;
  readonly state: ScenarioState;
  private readonly vus: Vu[];
  private readonly free: Vu[];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private startedAt = 0;
  private iterInTest = 0;
  private initializing = false;
  private readonly waitCancel: { cancelled: boolean; wake?: () => void } = { cancelled: false };

  constructor(
    private readonly host: ExecutorHost,
    readonly config: ScenarioConfig,
    preallocated: Vu[],
  ) {
    this.vus = [...preallocated];
    this.free = [...preallocated].reverse();
    this.stats = {
      name: config.name,
      scheduled: 0,
      started: 0,
      dropped: 0,
      interrupted: 0,
      latenessMs: [],
      firstStartMs: NaN,
      lastStartMs: NaN,
    };
    const env = Object.keys(config.env).length ? config.env : null;
    const run = this;
    this.state = {
      name: config.name,
      executor: config.executor,
      startEpochMs: 0,
      tags: config.tags,
      env,
      iterationsStarted: 0,
      progress() {
        const d = scenarioDurationMs(run.config);
        return run.startedAt && d > 0 ? Math.min(1, (performance.now() - run.startedAt) / d) : 0;
      },
    };
    host.onAbort(() => {
      this.stopped = true;
      this.waitCancel.cancelled = true;
      this.waitCancel.wake?.();
    });
  }

  /** Number of VUs (pre-allocated + initialized during the run). */
  get vuCount(): number {
    return this.vus.length;
  }

  private runOne(vu: Vu): Promise<void> {
    const iterInTest = this.iterInTest++;
    this.state.iterationsStarted++;
    this.stats.started++;
    this.host.iterationStarted();
    const p = vu.runIteration(this.config.exec, this.host.setupData(vu), this.state, iterInTest).then(
      (ok) => {
        if (!vu.dead) this.host.iterationEnded(ok ? 'ok' : 'error');
      },
      (err) => {
        this.host.logError(`scenario ${this.config.name}, VU ${vu.id}`, err);
        this.host.iterationEnded('error');
      },
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  async run(): Promise<void> {
    await delay(this.config.startTimeMs, this.waitCancel);
    if (this.host.aborted) return;
    this.startedAt = performance.now();
    this.state.startEpochMs = performance.timeOrigin + this.startedAt;
    this.host.vusChanged(this.vus.length);
    try {
      await this.execute();
    } finally {
      this.host.vusChanged(-this.vus.length);
    }
  }

  private async execute(): Promise<void> {
    switch (this.config.executor) {
      case 'constant-arrival-rate':
      case 'ramping-arrival-rate':
        await this.runArrivalRate();
        break;
      case 'per-vu-iterations': {
        const perVu = this.config.iterations;
        const counts = new Map<Vu, number>();
        await this.runLoops((vu) => {
          const n = counts.get(vu) ?? 0;
          counts.set(vu, n + 1);
          return n < perVu;
        });
        break;
      }
      case 'shared-iterations': {
        const total = this.config.iterations;
        let taken = 0;
        await this.runLoops(() => {
          if (taken >= total) return false;
          taken++;
          return true;
        });
        break;
      }
      case 'constant-vus':
        await this.runLoops(() => true);
        break;
    }
    await this.gracefulStop();
    if (this.config.executor === 'per-vu-iterations')
      this.drop(this.config.vus * this.config.iterations - this.stats.started);
    if (this.config.executor === 'shared-iterations') this.drop(this.config.iterations - this.stats.started);
  }

  private drop(n: number): void {
    if (n <= 0) return;
    this.stats.dropped += n;
    this.host.emitDropped(this.config, n);
  }

  /**
   * Closed-model loops: each VU runs iterations back to back while `more()` says so and the scenario has
   * time.
   */
  private async runLoops(more: (vu: Vu) => boolean): Promise<void> {
    const durationMs = scenarioDurationMs(this.config);
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, durationMs);
      this.host.onAbort(resolve);
    });
    const loops = this.vus.map(async (vu) => {
      while (!this.stopped && !vu.dead && more(vu)) await this.runOne(vu);
    });
    await Promise.race([Promise.all(loops), timeUp]);
    clearTimeout(timer);
    this.stopped = true;
  }

  private async runArrivalRate(): Promise<void> {
    const cfg = this.config as Extract<ScenarioConfig, { maxVUs: number }>;
    const durationMs = scenarioDurationMs(cfg);
    const times = arrivalTimes(cfg);
    let next = times.next();
    const t0 = this.startedAt;
    // Each wait is one the abort wakes (and clears): no timer outlives the scenario.
    while (!this.stopped) {
      const now = performance.now() - t0;
      while (!next.done && next.value <= now && next.value < durationMs) {
        this.launch(next.value, now);
        next = times.next();
      }
      if (next.done || next.value >= durationMs) {
        // No more starts; the scenario's time runs out at durationMs.
        await delay(durationMs - (performance.now() - t0), this.waitCancel);
        break;
      }
      await delay(Math.max(0, next.value - (performance.now() - t0)), this.waitCancel);
    }
    this.stopped = true;
  }

  private launch(scheduledMs: number, nowMs: number): void {
    const cfg = this.config as Extract<ScenarioConfig, { maxVUs: number }>;
    this.stats.scheduled++;
    const vu = this.free.pop();
    if (!vu) {
      this.drop(1);
      if (this.vus.length >= cfg.maxVUs) {
        this.host.warnOnce(
          `vus-${cfg.name}`,
          `scenario ${cfg.name}: insufficient VUs, reached ${cfg.maxVUs} active VUs and cannot initialize more`,
        );
      } else if (!this.initializing) {
        this.initializing = true;
        setImmediate(() => {
          try {
            if (!this.stopped) {
              const fresh = this.host.createVu();
              this.vus.push(fresh);
              this.free.push(fresh);
              this.host.vusChanged(1);
            }
          } catch (err) {
            this.host.logError(`scenario ${cfg.name}: initializing a VU`, err);
          } finally {
            this.initializing = false;
          }
        });
      }
      return;
    }
    this.stats.latenessMs.push(nowMs - scheduledMs);
    if (Number.isNaN(this.stats.firstStartMs)) this.stats.firstStartMs = nowMs;
    this.stats.lastStartMs = nowMs;
    void this.runOne(vu).then(() => {
      if (!vu.dead) this.free.push(vu);
    });
  }

  /** Wait up to gracefulStop for running iterations, then interrupt their VUs. */
  private async gracefulStop(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const cancel = this.waitCancel;
    let timedOut = false;
    await Promise.race([
      Promise.allSettled([...this.inFlight]).then(() => undefined),
      this.host.aborted
        ? Promise.resolve()
        : delay(this.config.gracefulStopMs, cancel).then(() => (timedOut = true)),
    ]);
    // The iterations ended first: clear the graceful stop's timer, which would keep the process alive.
    const finishedInTime = !timedOut;
    cancel.wake?.();
    if (this.inFlight.size > 0 || !finishedInTime || this.host.aborted) this.interruptAll();
  }

  interruptAll(): void {
    for (const vu of this.vus) {
      if (vu.busy && !vu.dead) {
        this.stats.interrupted++;
        this.host.iterationEnded('interrupted');
      }
      if (vu.busy) vu.interrupt();
    }
  }

  /** Close every VU's connections (end of test). */
  close(): void {
    for (const vu of this.vus) vu.close();
  }
}

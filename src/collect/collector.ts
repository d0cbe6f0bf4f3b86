import { errorText } from './errorText.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';
import { SampleFile } from './sampleFile.js';
import { type StatusSink, StatusReporter, type StatusView } from './status.js';

export const DEFAULT_INTERVAL_MS = 1000;
/** After the stop, how long samples already asked for may still answer, and each close may take. */
export const DEFAULT_STOP_GRACE_MS = 2000;

export interface CollectOptions {
  samplers: Sampler[];
  /** The NDJSON file; written through a temporary name, renamed at the end. */
  out: string;
  intervalMs?: number;
  /** Stop after this long; without it, at `signal`. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Live status (stderr); none when absent. */
  status?: StatusSink;
  statusPeriodMs?: number;
  stopGraceMs?: number;
}

export interface SourceSummary {
  source: Sampler['source'];
  name: string;
  /** Lines the source answered with (gap records not included). */
  samples: number;
  /** Failed attempts, each one `source_up 0` line. */
  gaps: number;
  /** Ticks at which its previous sample was still pending, so none was asked. */
  skippedTicks: number;
}

export interface CollectSummary {
  out: string;
  ticks: number;
  /** Ticks that never fired because the process was busy past them (e.g. a blocked event loop). */
  missedTicks: number;
  elapsedMs: number;
  /** Every line written, gap records included. */
  lines: number;
  sources: SourceSummary[];
}

interface SourceState extends SourceSummary {
  sampler: Sampler;
  pending: Promise<void> | undefined;
  up: boolean | undefined;
  latest: Sample[];
}

/**
 * Sample every source once per interval until the duration is over or the
 * signal aborts, streaming the lines to `out`. Sources are asked concurrently
 * and independently: a slow one only loses its own ticks (counted), a failing
 * one leaves a gap record and is asked again at the next tick. Every sampler
 * is closed at the end, whatever happened.
 */
export async function collect(options: CollectOptions): Promise<CollectSummary> {
  const names = options.samplers.map((s) => `${s.source} ${s.name}`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`collect: two samplers are both "${twice}"`);
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!(intervalMs > 0)) throw new Error(`collect: interval must be > 0 ms, got ${intervalMs}`);
  const file = new SampleFile(options.out);
  const run = new Collection({ ...options, intervalMs }, file);
  try {
    await file.ready();
    await run.loop();
    await run.settle();
  } catch (err) {
    await run.closeSamplers();
    await file.discard();
    throw err;
  }
  await run.closeSamplers();
  await file.commit();
  return run.summary();
}

class Collection {
  private readonly states: SourceState[];
  private readonly intervalMs: number;
  private readonly graceMs: number;
  private readonly status: StatusReporter | undefined;
  private startMs = Date.now();
  private ticks = 0;
  private missedTicks = 0;
  private lines = 0;
  /** Set once the grace is over: late answers are dropped, not written. */
  private accepting = true;
  private writeFailure: unknown;

  constructor(
    private readonly options: CollectOptions,
    private readonly file: SampleFile,
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.graceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.status = options.status ? new StatusReporter(options.status, options.statusPeriodMs) : undefined;
    this.states = options.samplers.map((sampler) => ({
      sampler,
      source: sampler.source,
      name: sampler.name,
      samples: 0,
      gaps: 0,
      skippedTicks: 0,
      pending: undefined,
      up: undefined,
      latest: [],
    }));
  }

  /** Ticks at start + k × interval (no drift); a tick the process slept through is skipped and counted. */
  async loop(): Promise<void> {
    const { durationMs, signal } = this.options;
    this.startMs = Date.now();
    const endMs = durationMs === undefined ? Number.POSITIVE_INFINITY : this.startMs + durationMs;
    let k = 0;
    while (!signal?.aborted) {
      const atMs = this.startMs + k * this.intervalMs;
      if (atMs >= endMs) break;
      await sleepUntil(atMs, signal);
      if (signal?.aborted) break;
      // The status shows the previous tick's answers, so it is never all "…" but at the very start.
      if (k > 0) this.status?.update(this.view());
      this.tick();
      if (this.writeFailure) throw this.writeFailure;
      await this.file.drained();
      const behind = Math.floor((Date.now() - this.startMs) / this.intervalMs);
      const next = Math.max(k + 1, behind);
      this.missedTicks += next - (k + 1);
      k = next;
    }
    if (!signal?.aborted && Number.isFinite(endMs)) await sleepUntil(endMs, signal);
  }

  private tick(): void {
    this.ticks++;
    const time = new Date().toISOString();
    for (const st of this.states) {
      if (st.pending) {
        st.skippedTicks++;
        continue;
      }
      // Through a promise, so a sampler that throws instead of rejecting is a gap too.
      st.pending = Promise.resolve()
        .then(() => st.sampler.sample(time))
        .then(
          (samples) => this.answered(st, time, samples),
          (err: unknown) => this.failed(st, time, err),
        )
        .catch((err: unknown) => {
          this.writeFailure ??= err;
        })
        .finally(() => {
          st.pending = undefined;
        });
    }
  }

  private answered(st: SourceState, time: string, samples: Sample[]): void {
    if (!this.accepting) return;
    if (st.up === false) this.write(upRecord(st, time, 1));
    st.up = true;
    for (const s of samples) this.write(s);
    st.samples += samples.length;
    st.latest = samples;
  }

  private failed(st: SourceState, time: string, err: unknown): void {
    if (!this.accepting) return;
    this.write(upRecord(st, time, 0, errorText(err)));
    st.gaps++;
    st.up = false;
    st.latest = [];
  }

  private write(sample: Sample): void {
    this.file.write(sample);
    this.lines++;
  }

  /** Let the samples asked for before the stop answer, for at most the grace. */
  async settle(): Promise<void> {
    const pending = this.states.flatMap((st) => (st.pending ? [st.pending] : []));
    if (pending.length > 0) await withTimeout(Promise.all(pending), this.graceMs);
    this.accepting = false;
    if (this.writeFailure) throw this.writeFailure;
    this.status?.finish(this.view());
  }

  async closeSamplers(): Promise<void> {
    this.accepting = false;
    await Promise.all(
      this.states.map((st) =>
        withTimeout(
          st.sampler.close().catch(() => undefined),
          this.graceMs,
        ),
      ),
    );
  }

  private view(): StatusView {
    return {
      elapsedMs: Date.now() - this.startMs,
      samples: this.lines,
      sources: this.states.map((st) => ({ label: `${st.source} ${st.name}`, up: st.up })),
      latest: this.states.flatMap((st) => st.latest),
    };
  }

  summary(): CollectSummary {
    return {
      out: this.options.out,
      ticks: this.ticks,
      missedTicks: this.missedTicks,
      elapsedMs: Date.now() - this.startMs,
      lines: this.lines,
      sources: this.states.map(({ source, name, samples, gaps, skippedTicks }) => ({
        source,
        name,
        samples,
        gaps,
        skippedTicks,
      })),
    };
  }
}

/** The gap convention of sample.ts: `source_up` 0 with the error on each failure, 1 on recovery. */
function upRecord(st: SourceState, time: string, value: 0 | 1, error?: string): Sample {
  const labels: Record<string, string> = { of: st.source, name: st.name };
  if (error !== undefined) labels.error = error;
  return { time, source: 'collector', metric: 'source_up', value, labels };
}

function sleepUntil(atMs: number, signal: AbortSignal | undefined): Promise<void> {
  const waitMs = atMs - Date.now();
  if (waitMs <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

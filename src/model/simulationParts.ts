/**
 * The parts the discrete-event simulations (simulate.ts, simulateSidekiqPool.ts)
 * share: an event heap, Sidekiq's queues as job lines, waiting-time samples and
 * their quantiles, and Sidekiq's weighted fetch.
 */
import type { Rng } from '../shared/random.js';

/**
 * Binary min-heap of (time, code) in two typed arrays: no object per event.
 * Williams' heap (CACM 7(6), 1964, Algorithm 232).
 */
export class EventHeap {
  private times = new Float64Array(1024);
  private codes = new Int32Array(1024);
  size = 0;

  push(time: number, code: number): void {
    if (this.size === this.times.length) this.grow();
    const times = this.times;
    const codes = this.codes;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = times[parent]!;
      if (parentTime <= time) break;
      times[i] = parentTime;
      codes[i] = codes[parent]!;
      i = parent;
    }
    times[i] = time;
    codes[i] = code;
  }

  topTime(): number {
    return this.times[0]!;
  }

  topCode(): number {
    return this.codes[0]!;
  }

  /** Removes the earliest event (read it first with topTime/topCode). */
  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const times = this.times;
    const codes = this.codes;
    const time = times[n]!;
    const code = codes[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1]! < times[child]!) child++;
      if (times[child]! >= time) break;
      times[i] = times[child]!;
      codes[i] = codes[child]!;
      i = child;
    }
    times[i] = time;
    codes[i] = code;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const codes = new Int32Array(this.codes.length * 2);
    times.set(this.times);
    codes.set(this.codes);
    this.times = times;
    this.codes = codes;
  }
}

/**
 * FIFO of job ids (one per Sidekiq queue, like its Redis list) on a ring buffer
 * whose size is a power of two, so wrapping is a mask.
 */
export class JobLine {
  private buf = new Int32Array(256);
  private mask = 255;
  private head = 0;
  length = 0;

  push(job: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Int32Array(this.buf.length * 2);
      for (let i = 0; i < this.length; i++) bigger[i] = this.buf[(this.head + i) & this.mask]!;
      this.buf = bigger;
      this.mask = bigger.length - 1;
      this.head = 0;
    }
    this.buf[(this.head + this.length) & this.mask] = job;
    this.length++;
  }

  peek(): number {
    return this.buf[this.head]!;
  }

  shift(): number {
    const job = this.buf[this.head]!;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return job;
  }
}

/** Growable array of doubles (waiting-time samples). */
export class Samples {
  values = new Float64Array(1024);
  length = 0;
  sum = 0;

  push(v: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = v;
    this.sum += v;
  }

  /** Sorted copy of the samples. */
  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}

/** Mean and quantiles of a set of waits (NaN where there are none). */
export interface WaitSummary {
  meanWaitSec: number;
  p50WaitSec: number;
  p95WaitSec: number;
  p99WaitSec: number;
}

export function summarizeWaits(samples: Samples): WaitSummary {
  const sorted = samples.sorted();
  return {
    meanWaitSec: samples.length > 0 ? samples.sum / samples.length : NaN,
    p50WaitSec: quantileSorted(sorted, 0.5),
    p95WaitSec: quantileSorted(sorted, 0.95),
    p99WaitSec: quantileSorted(sorted, 0.99),
  };
}

/** Quantile of sorted data by linear interpolation (Hyndman & Fan 1996, definition 7). NaN if empty. */
export function quantileSorted(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Sidekiq's weighted random fetch (simulate.ts, the header) among the non-empty
 * lines: line q wins with probability w_q / Σ_{j non-empty} w_j, one uniform draw.
 */
export function pickWeighted(lines: readonly JobLine[], weight: Float64Array, rng: Rng): number {
  let total = 0;
  for (let q = 0; q < lines.length; q++) if (lines[q]!.length > 0) total += weight[q]!;
  let u = rng.next() * total;
  let last = 0;
  for (let q = 0; q < lines.length; q++) {
    if (lines[q]!.length === 0) continue;
    last = q;
    u -= weight[q]!;
    if (u < 0) return q;
  }
  return last; // u landed on total through rounding
}

/**
 * Discrete-event simulation of one Sidekiq process's thread pool serving
 * several queues — the yardstick for the analytic models in queueing.ts and
 * sidekiq.ts, and the fallback for what they cannot express (bursts, retries).
 *
 * Mechanics copied from Sidekiq (github.com/sidekiq/sidekiq):
 * - fetch (lib/sidekiq/fetch.rb, BasicFetch#queues_cmd): each queue appears
 *   `weight` times in the list, the list is shuffled and made unique, and BRPOP
 *   takes the oldest job of the first non-empty queue. The first non-empty queue
 *   is the owner of the first copy, among the copies of non-empty queues, in a
 *   uniform shuffle — so queue i wins with probability w_i / Σ_{j non-empty} w_j,
 *   which is what `pickWeighted` draws (one uniform instead of a shuffle).
 * - retries (lib/sidekiq/job_retry.rb): the first failure sets retry_count = 0;
 *   while retry_count < max (default 25) the job goes to the retry set for
 *   count⁴ + 15 s plus jitter rand(10·(count + 1)), then back to its queue;
 *   otherwise it is dead.
 * Not modelled: the scheduler's poll interval (retries re-enter exactly on time),
 * Redis latency, and BRPOP's 2 s timeout (an idle thread takes work at once).
 *
 * Pure and deterministic: all randomness comes from `opts.rng`.
 */
import type { Rng } from '../shared/random.js';

export interface SimQueue {
  queue: string;
  /** Sidekiq weight (`-q push,6`); > 0. */
  weight: number;
  /** Rate of new (first-attempt) jobs. */
  arrivalRatePerSec: number;
  /** Mean of the exponential service time. */
  serviceTimeSec: number;
  /** Probability that one attempt raises, sending the job to the retry set. Default 0. */
  failureProbability?: number;
  /** Sidekiq `retry:` count; default 25 (Sidekiq's default). */
  maxRetries?: number;
}

export interface SimOptions {
  /** Sidekiq concurrency (`-c`, MAX_THREADS). */
  threads: number;
  queues: SimQueue[];
  /**
   * 'poisson' (default) or 'bursty': batches arriving as a Poisson process, batch
   * size geometric on {1, 2, …} with mean `burstSize`, so the job rate is unchanged.
   */
  arrivals?: 'poisson' | 'bursty';
  /** Mean batch size for 'bursty' arrivals; ≥ 1, default 5. */
  burstSize?: number;
  /** 'weighted-random' (Sidekiq's default with weights), or 'fifo' (one global line, oldest first). */
  fetch?: 'weighted-random' | 'fifo';
  /** Delay before retry number `retryCount` (0 for the first); default `sidekiqRetryDelaySec`. */
  retrySchedule?: (retryCount: number, rng: Rng) => number;
  /** Number of first-attempt jobs to generate; the run then drains what is left. */
  jobs: number;
  /** Jobs (in arrival order) whose statistics are discarded; default 0. */
  warmupJobs?: number;
  /** Stop at this simulated time even if work remains; default Infinity. */
  maxSimTimeSec?: number;
  rng: Rng;
}

export interface SimQueueResult {
  queue: string;
  /** Counted jobs that finished successfully. */
  completed: number;
  /** Over counted attempts (first tries and retries): time from (re)enqueue to start. NaN if none. */
  meanWaitSec: number;
  p50WaitSec: number;
  p95WaitSec: number;
  p99WaitSec: number;
  /** Retries scheduled for counted jobs. */
  retries: number;
  /** Counted jobs that exhausted their retries. */
  dead: number;
}

export interface SimResult {
  perQueue: SimQueueResult[];
  /** Busy thread-seconds / (threads · elapsed), over the arrival window of counted jobs. */
  utilization: number;
  /** Over all counted attempts. */
  meanWaitSec: number;
  /** Fraction of counted attempts that waited at all. */
  probabilityOfWait: number;
  /** Events processed. */
  events: number;
  /** Simulated time of the last event processed. */
  simulatedSec: number;
}

/**
 * Sidekiq's default retry delay (lib/sidekiq/job_retry.rb, `delay_for` and
 * `process_retry`): count⁴ + 15 s plus jitter rand(10·(count + 1)), an integer
 * in [0, 10·(count + 1)). Older Sidekiq used rand(10)·(count + 1) (same mean to
 * within half a second per retry).
 */
export function sidekiqRetryDelaySec(retryCount: number, rng: Rng): number {
  return retryCount ** 4 + 15 + Math.floor(rng.next() * 10 * (retryCount + 1));
}

// Event kinds, packed with a payload into one int32: code = payload·4 + kind.
const ARRIVAL = 0; // payload: queue index
const COMPLETION = 1; // payload: job id
const RETRY = 2; // payload: job id
const MAX_JOBS = 2 ** 28; // payload·4 must fit an int32

/**
 * Binary min-heap of (time, code) in two typed arrays: no object per event.
 * Williams' heap (CACM 7(6), 1964, Algorithm 232).
 */
class EventHeap {
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
class JobLine {
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
class Samples {
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

/** Quantile of sorted data by linear interpolation (Hyndman & Fan 1996, definition 7). NaN if empty. */
function quantileSorted(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function checkOptions(opts: SimOptions): void {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new RangeError(`${name} must be ${expected}, got ${String(got)}`);
  };
  if (typeof opts.rng?.next !== 'function')
    fail('rng', 'a seeded generator such as seededRng(seed)', opts.rng);
  if (!Number.isInteger(opts.threads) || opts.threads < 1) fail('threads', 'an integer >= 1', opts.threads);
  if (!Array.isArray(opts.queues) || opts.queues.length === 0)
    fail('queues', 'a non-empty array', opts.queues);
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1 || opts.jobs > MAX_JOBS) {
    fail('jobs', `an integer in [1, ${MAX_JOBS}]`, opts.jobs);
  }
  const warmup = opts.warmupJobs ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= opts.jobs) {
    fail('warmupJobs', 'an integer in [0, jobs)', warmup);
  }
  const maxSim = opts.maxSimTimeSec ?? Infinity;
  if (Number.isNaN(maxSim) || maxSim <= 0) fail('maxSimTimeSec', '> 0', maxSim);
  const arrivals = opts.arrivals ?? 'poisson';
  if (arrivals !== 'poisson' && arrivals !== 'bursty') fail('arrivals', "'poisson' or 'bursty'", arrivals);
  const burst = opts.burstSize ?? 5;
  if (!Number.isFinite(burst) || burst < 1) fail('burstSize', 'a finite number >= 1', burst);
  const fetch = opts.fetch ?? 'weighted-random';
  if (fetch !== 'weighted-random' && fetch !== 'fifo') fail('fetch', "'weighted-random' or 'fifo'", fetch);
  opts.queues.forEach((q, i) => {
    const at = `queues[${i}]`;
    if (!Number.isFinite(q.weight) || q.weight <= 0) fail(`${at}.weight`, 'a finite number > 0', q.weight);
    if (!Number.isFinite(q.arrivalRatePerSec) || q.arrivalRatePerSec < 0) {
      fail(`${at}.arrivalRatePerSec`, 'a finite number >= 0', q.arrivalRatePerSec);
    }
    if (!Number.isFinite(q.serviceTimeSec) || q.serviceTimeSec <= 0) {
      fail(`${at}.serviceTimeSec`, 'a finite number > 0', q.serviceTimeSec);
    }
    const p = q.failureProbability ?? 0;
    if (!(p >= 0 && p <= 1)) fail(`${at}.failureProbability`, 'in [0, 1]', p);
    const r = q.maxRetries ?? 25;
    if (!Number.isInteger(r) || r < 0) fail(`${at}.maxRetries`, 'an integer >= 0', r);
  });
}

/**
 * Simulates `opts.jobs` jobs through a pool of `opts.threads` threads and
 * reports waits per queue. Bounded: at most jobs·(2·maxRetries + 2) + queues
 * events (arrivals, completions, re-enqueues), and never past `maxSimTimeSec`
 * (waits of jobs still queued then are not counted).
 */
export function simulatePool(opts: SimOptions): SimResult {
  checkOptions(opts);
  const rng = opts.rng;
  const threads = opts.threads;
  const jobs = opts.jobs;
  const warmupJobs = opts.warmupJobs ?? 0;
  const maxSimTimeSec = opts.maxSimTimeSec ?? Infinity;
  const bursty = (opts.arrivals ?? 'poisson') === 'bursty';
  const burstSize = opts.burstSize ?? 5;
  const fifo = (opts.fetch ?? 'weighted-random') === 'fifo';
  const retryDelay = opts.retrySchedule ?? sidekiqRetryDelaySec;

  const k = opts.queues.length;
  const weight = Float64Array.from(opts.queues, (q) => q.weight);
  const serviceSec = Float64Array.from(opts.queues, (q) => q.serviceTimeSec);
  const failP = Float64Array.from(opts.queues, (q) => q.failureProbability ?? 0);
  const maxRetries = Int32Array.from(opts.queues, (q) => q.maxRetries ?? 25);
  // Mean time between arrival events of a queue (batches when bursty).
  const meanGapSec = Float64Array.from(opts.queues, (q) =>
    q.arrivalRatePerSec > 0 ? (bursty ? burstSize : 1) / q.arrivalRatePerSec : Infinity,
  );
  // Geometric batch size on {1, 2, …} with mean m: 1 + floor(ln U / ln(1 − 1/m)).
  const logStay = burstSize > 1 ? Math.log(1 - 1 / burstSize) : 0;

  const lines = Array.from({ length: k }, () => new JobLine());
  const waits = Array.from({ length: k }, () => new Samples());
  const completed = new Float64Array(k);
  const retries = new Float64Array(k);
  const dead = new Float64Array(k);

  // Per job (id = arrival order): its queue, (re)enqueue time and retry count.
  const jobQueue = new Int32Array(jobs);
  const jobEnqueuedAt = new Float64Array(jobs);
  const jobRetryCount = new Int32Array(jobs);

  const heap = new EventHeap();
  for (let q = 0; q < k; q++) {
    if (meanGapSec[q]! < Infinity) heap.push(-meanGapSec[q]! * Math.log(1 - rng.next()), q * 4 + ARRIVAL);
  }

  let now = 0;
  let arrived = 0;
  let waiting = 0; // jobs in all lines
  let busy = 0;
  let events = 0;
  let waitedCount = 0; // counted attempts with wait > 0
  // Utilization window: from the first counted arrival to the last arrival.
  let measuring = false;
  let windowStart = 0;
  let windowEnd = 0;
  let lastChange = 0;
  let busyArea = 0;

  const pickWeighted = (): number => {
    let total = 0;
    for (let q = 0; q < k; q++) if (lines[q]!.length > 0) total += weight[q]!;
    let u = rng.next() * total;
    let last = 0;
    for (let q = 0; q < k; q++) {
      if (lines[q]!.length === 0) continue;
      last = q;
      u -= weight[q]!;
      if (u < 0) return q;
    }
    return last; // u landed on total through rounding
  };

  const pickOldest = (): number => {
    let best = -1;
    let bestAt = Infinity;
    for (let q = 0; q < k; q++) {
      const line = lines[q]!;
      if (line.length > 0 && jobEnqueuedAt[line.peek()]! < bestAt) {
        bestAt = jobEnqueuedAt[line.peek()]!;
        best = q;
      }
    }
    return best;
  };

  /** Idle threads take waiting jobs, one fetch each. */
  const dispatch = (): void => {
    while (busy < threads && waiting > 0) {
      let q = 0;
      if (k > 1) q = fifo ? pickOldest() : pickWeighted();
      const job = lines[q]!.shift();
      waiting--;
      if (job >= warmupJobs) {
        const wait = now - jobEnqueuedAt[job]!;
        waits[q]!.push(wait);
        if (wait > 0) waitedCount++;
      }
      busy++;
      heap.push(now - serviceSec[q]! * Math.log(1 - rng.next()), job * 4 + COMPLETION);
    }
  };

  const enqueue = (job: number, q: number): void => {
    jobEnqueuedAt[job] = now;
    lines[q]!.push(job);
    waiting++;
  };

  while (heap.size > 0) {
    const t = heap.topTime();
    if (t > maxSimTimeSec) break;
    const code = heap.topCode();
    heap.pop();
    events++;
    if (measuring) busyArea += busy * (t - lastChange);
    lastChange = t;
    now = t;
    const kind = code & 3;
    const payload = code >> 2;

    if (kind === ARRIVAL) {
      if (arrived >= jobs) continue; // a queue's pending arrival after the last job
      const q = payload;
      let batch = 1;
      if (bursty && logStay < 0) batch = 1 + Math.floor(Math.log(1 - rng.next()) / logStay);
      if (batch > jobs - arrived) batch = jobs - arrived;
      for (let b = 0; b < batch; b++) {
        const job = arrived++;
        if (job === warmupJobs) {
          measuring = true;
          windowStart = now;
        }
        jobQueue[job] = q;
        enqueue(job, q);
      }
      if (arrived < jobs) heap.push(now - meanGapSec[q]! * Math.log(1 - rng.next()), q * 4 + ARRIVAL);
      dispatch();
      if (arrived === jobs && measuring) {
        measuring = false;
        windowEnd = now;
      }
    } else if (kind === COMPLETION) {
      const job = payload;
      const q = jobQueue[job]!;
      busy--;
      const counted = job >= warmupJobs;
      if (failP[q]! > 0 && rng.next() < failP[q]!) {
        const count = jobRetryCount[job]!;
        if (count < maxRetries[q]!) {
          const delaySec = retryDelay(count, rng);
          if (!Number.isFinite(delaySec) || delaySec < 0) {
            throw new RangeError(`retrySchedule must return a finite delay >= 0, got ${delaySec}`);
          }
          jobRetryCount[job] = count + 1;
          heap.push(now + delaySec, job * 4 + RETRY);
          if (counted) retries[q]!++;
        } else if (counted) {
          dead[q]!++;
        }
      } else if (counted) {
        completed[q]!++;
      }
      dispatch();
    } else {
      const job = payload;
      enqueue(job, jobQueue[job]!);
      dispatch();
    }
  }
  if (measuring) windowEnd = now; // cut short by maxSimTimeSec

  let totalSamples = 0;
  let totalWait = 0;
  const perQueue = opts.queues.map((queueSpec, q): SimQueueResult => {
    const samples = waits[q]!;
    const sorted = samples.sorted();
    totalSamples += samples.length;
    totalWait += samples.sum;
    return {
      queue: queueSpec.queue,
      completed: completed[q]!,
      meanWaitSec: samples.length > 0 ? samples.sum / samples.length : NaN,
      p50WaitSec: quantileSorted(sorted, 0.5),
      p95WaitSec: quantileSorted(sorted, 0.95),
      p99WaitSec: quantileSorted(sorted, 0.99),
      retries: retries[q]!,
      dead: dead[q]!,
    };
  });
  const windowSec = windowEnd - windowStart;
  return {
    perQueue,
    utilization: windowSec > 0 ? busyArea / (threads * windowSec) : 0,
    meanWaitSec: totalSamples > 0 ? totalWait / totalSamples : NaN,
    probabilityOfWait: totalSamples > 0 ? waitedCount / totalSamples : NaN,
    events,
    simulatedSec: now,
  };
}

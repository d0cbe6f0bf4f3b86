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
 * Every thread here is an independent exponential server; simulateSidekiqPool.ts
 * simulates the physics instead (the interpreter lock, the host's cores).
 *
 * Pure and deterministic: all randomness comes from `opts.rng`.
 */
import type { Rng } from '../shared/random.js';
import { EventHeap, JobLine, pickWeighted, Samples, summarizeWaits } from './simulationParts.js';

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
  const simulation = new PoolSimulation(opts);
  simulation.run(opts.maxSimTimeSec ?? Infinity);
  return simulation.result(opts.queues);
}

/** The state of one run of simulatePool: typed arrays per queue and per job, no object per event. */
class PoolSimulation {
  private readonly rng: Rng;
  private readonly threads: number;
  private readonly jobs: number;
  private readonly warmupJobs: number;
  private readonly bursty: boolean;
  private readonly fifo: boolean;
  private readonly retryDelay: (retryCount: number, rng: Rng) => number;
  private readonly k: number;
  private readonly weight: Float64Array;
  private readonly serviceSec: Float64Array;
  private readonly failP: Float64Array;
  private readonly maxRetries: Int32Array;
  /** Mean time between arrival events of a queue (batches when bursty). */
  private readonly meanGapSec: Float64Array;
  /** Geometric batch size on {1, 2, …} with mean m: 1 + floor(ln U / ln(1 − 1/m)); this is ln(1 − 1/m). */
  private readonly logStay: number;

  private readonly lines: JobLine[];
  private readonly waits: Samples[];
  private readonly completed: Float64Array;
  private readonly retries: Float64Array;
  private readonly dead: Float64Array;
  // Per job (id = arrival order): its queue, (re)enqueue time and retry count.
  private readonly jobQueue: Int32Array;
  private readonly jobEnqueuedAt: Float64Array;
  private readonly jobRetryCount: Int32Array;
  private readonly heap = new EventHeap();

  private now = 0;
  private arrived = 0;
  /** Jobs in all lines. */
  private waiting = 0;
  private busy = 0;
  private events = 0;
  /** Counted attempts with wait > 0. */
  private waitedCount = 0;
  // Utilization window: from the first counted arrival to the last arrival.
  private measuring = false;
  private windowStart = 0;
  private windowEnd = 0;
  private lastChange = 0;
  private busyArea = 0;

  constructor(opts: SimOptions) {
    this.rng = opts.rng;
    this.threads = opts.threads;
    this.jobs = opts.jobs;
    this.warmupJobs = opts.warmupJobs ?? 0;
    this.bursty = (opts.arrivals ?? 'poisson') === 'bursty';
    const burstSize = opts.burstSize ?? 5;
    this.fifo = (opts.fetch ?? 'weighted-random') === 'fifo';
    this.retryDelay = opts.retrySchedule ?? sidekiqRetryDelaySec;
    const k = opts.queues.length;
    this.k = k;
    this.weight = Float64Array.from(opts.queues, (q) => q.weight);
    this.serviceSec = Float64Array.from(opts.queues, (q) => q.serviceTimeSec);
    this.failP = Float64Array.from(opts.queues, (q) => q.failureProbability ?? 0);
    this.maxRetries = Int32Array.from(opts.queues, (q) => q.maxRetries ?? 25);
    this.meanGapSec = Float64Array.from(opts.queues, (q) =>
      q.arrivalRatePerSec > 0 ? (this.bursty ? burstSize : 1) / q.arrivalRatePerSec : Infinity,
    );
    this.logStay = burstSize > 1 ? Math.log(1 - 1 / burstSize) : 0;
    this.lines = Array.from({ length: k }, () => new JobLine());
    this.waits = Array.from({ length: k }, () => new Samples());
    this.completed = new Float64Array(k);
    this.retries = new Float64Array(k);
    this.dead = new Float64Array(k);
    this.jobQueue = new Int32Array(this.jobs);
    this.jobEnqueuedAt = new Float64Array(this.jobs);
    this.jobRetryCount = new Int32Array(this.jobs);
    for (let q = 0; q < k; q++) {
      const gap = this.meanGapSec[q]!;
      if (gap < Infinity) this.heap.push(-gap * Math.log(1 - this.rng.next()), q * 4 + ARRIVAL);
    }
  }

  run(maxSimTimeSec: number): void {
    const heap = this.heap;
    while (heap.size > 0) {
      const t = heap.topTime();
      if (t > maxSimTimeSec) break;
      const code = heap.topCode();
      heap.pop();
      this.events++;
      if (this.measuring) this.busyArea += this.busy * (t - this.lastChange);
      this.lastChange = t;
      this.now = t;
      const kind = code & 3;
      const payload = code >> 2;
      if (kind === ARRIVAL) {
        if (this.arrived >= this.jobs) continue; // a queue's pending arrival after the last job
        this.arrive(payload);
        this.dispatch();
        if (this.arrived === this.jobs && this.measuring) {
          this.measuring = false;
          this.windowEnd = this.now;
        }
      } else {
        if (kind === COMPLETION) this.complete(payload);
        else this.enqueue(payload, this.jobQueue[payload]!); // back from the retry set
        this.dispatch();
      }
    }
    if (this.measuring) this.windowEnd = this.now; // cut short by maxSimTimeSec
  }

  /** New jobs of queue `q` (a batch when bursty), and the queue's next arrival. */
  private arrive(q: number): void {
    const rng = this.rng;
    let batch = 1;
    if (this.bursty && this.logStay < 0) batch = 1 + Math.floor(Math.log(1 - rng.next()) / this.logStay);
    if (batch > this.jobs - this.arrived) batch = this.jobs - this.arrived;
    for (let b = 0; b < batch; b++) {
      const job = this.arrived++;
      if (job === this.warmupJobs) {
        this.measuring = true;
        this.windowStart = this.now;
      }
      this.jobQueue[job] = q;
      this.enqueue(job, q);
    }
    if (this.arrived < this.jobs) {
      this.heap.push(this.now - this.meanGapSec[q]! * Math.log(1 - rng.next()), q * 4 + ARRIVAL);
    }
  }

  /** A job finished: done, off to the retry set (Sidekiq's schedule), or dead. */
  private complete(job: number): void {
    const q = this.jobQueue[job]!;
    this.busy--;
    const counted = job >= this.warmupJobs;
    if (this.failP[q]! > 0 && this.rng.next() < this.failP[q]!) {
      const count = this.jobRetryCount[job]!;
      if (count < this.maxRetries[q]!) {
        const delaySec = this.retryDelay(count, this.rng);
        if (!Number.isFinite(delaySec) || delaySec < 0) {
          throw new RangeError(`retrySchedule must return a finite delay >= 0, got ${delaySec}`);
        }
        this.jobRetryCount[job] = count + 1;
        this.heap.push(this.now + delaySec, job * 4 + RETRY);
        if (counted) this.retries[q]!++;
      } else if (counted) {
        this.dead[q]!++;
      }
    } else if (counted) {
      this.completed[q]!++;
    }
  }

  private enqueue(job: number, q: number): void {
    this.jobEnqueuedAt[job] = this.now;
    this.lines[q]!.push(job);
    this.waiting++;
  }

  /** Idle threads take waiting jobs, one fetch each. */
  private dispatch(): void {
    while (this.busy < this.threads && this.waiting > 0) {
      let q = 0;
      if (this.k > 1) q = this.fifo ? this.pickOldest() : pickWeighted(this.lines, this.weight, this.rng);
      const job = this.lines[q]!.shift();
      this.waiting--;
      if (job >= this.warmupJobs) {
        const wait = this.now - this.jobEnqueuedAt[job]!;
        this.waits[q]!.push(wait);
        if (wait > 0) this.waitedCount++;
      }
      this.busy++;
      this.heap.push(this.now - this.serviceSec[q]! * Math.log(1 - this.rng.next()), job * 4 + COMPLETION);
    }
  }

  /** One global line: the queue whose head waited longest. */
  private pickOldest(): number {
    let best = -1;
    let bestAt = Infinity;
    for (let q = 0; q < this.k; q++) {
      const line = this.lines[q]!;
      if (line.length > 0 && this.jobEnqueuedAt[line.peek()]! < bestAt) {
        bestAt = this.jobEnqueuedAt[line.peek()]!;
        best = q;
      }
    }
    return best;
  }

  result(queues: readonly SimQueue[]): SimResult {
    let totalSamples = 0;
    let totalWait = 0;
    const perQueue = queues.map((queueSpec, q): SimQueueResult => {
      const samples = this.waits[q]!;
      totalSamples += samples.length;
      totalWait += samples.sum;
      return {
        queue: queueSpec.queue,
        completed: this.completed[q]!,
        ...summarizeWaits(samples),
        retries: this.retries[q]!,
        dead: this.dead[q]!,
      };
    });
    const windowSec = this.windowEnd - this.windowStart;
    return {
      perQueue,
      utilization: windowSec > 0 ? this.busyArea / (this.threads * windowSec) : 0,
      meanWaitSec: totalSamples > 0 ? totalWait / totalSamples : NaN,
      probabilityOfWait: totalSamples > 0 ? this.waitedCount / totalSamples : NaN,
      events: this.events,
      simulatedSec: this.now,
    };
  }
}

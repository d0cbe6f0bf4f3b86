/**
 * Discrete-event simulation of Sidekiq processes with their interpreter lock:
 * the yardstick for the closed-network model (sidekiqNetwork.ts, and the
 * flow-equivalent server of flowEquivalent.ts on its curve), as simulate.ts is
 * the yardstick for the M/M/c models.
 *
 * Physics (docs/sidekiq-model.md, "The lock in the simulation"):
 * - `processes` Sidekiq processes of `threads` threads each fetch from the same
 *   queues with Sidekiq's weighted fetch (simulate.ts, the header). An idle
 *   thread is blocked in BRPOP; Redis serves blocked clients in the order they
 *   blocked, so the longest-idle thread of any process takes the next job.
 * - A job is `phases` rounds of a Ruby CPU burst followed by an I/O wait; its CPU
 *   (own and Sidekiq's framework CPU) and its wait are split evenly over the
 *   rounds. A burst needs its process's interpreter lock (one holder per process,
 *   the others wait first come, first served; the holder keeps it for the whole
 *   burst) and a core: the lock holders of all processes share the host's
 *   `hostCores` by processor sharing with a background load (Redis, say) that
 *   asks for a fixed share of one core. With n holders runnable the background
 *   gets min(b, cores/(n + 1)) (it is one thread with a fair share) and each
 *   holder min(1, (cores − background)/n). An I/O wait holds neither.
 * - Times per round: deterministic (as the real-Sidekiq benchmark's job, with
 *   an optional uniform jitter) or exponential with the same mean.
 * Two loads: 'poisson' arrivals at each queue's rate (`jobs` of them, the first
 * `warmupJobs` not counted), or 'drain': `jobs` pre-filled at time 0, split over
 * the queues in proportion to their rates, throughput measured between 10 % and
 * 90 % of them finished (what `npm run bench:sidekiq` measures).
 * Not modelled: retries, Redis latency, the GVL's 100 ms time slice (a burst
 * longer than that would be preempted by a waiting thread), BRPOP's timeout.
 *
 * Pure and deterministic: all randomness comes from `opts.rng`.
 */
import type { Rng } from '../shared/random.js';
import {
  EventHeap,
  JobLine,
  pickWeighted,
  Samples,
  summarizeWaits,
  type WaitSummary,
} from './simulationParts.js';

export interface SidekiqSimQueue {
  queue: string;
  /** Sidekiq weight (`-q push,6`); > 0. */
  weight: number;
  /** Rate of jobs for 'poisson'; for 'drain', the queue's share of the pre-filled jobs. ≥ 0. */
  arrivalRatePerSec: number;
  /** The job's own Ruby CPU (holds the interpreter lock), mean per job. */
  jobCpuSec: number;
  /** The job's I/O (releases the lock), mean per job. */
  jobWaitSec: number;
  /** Rounds of CPU then I/O the job's CPU and wait are split into evenly; default 1. */
  phases?: number;
}

export type SidekiqSimLoad =
  | { kind: 'poisson'; jobs: number; warmupJobs?: number }
  | { kind: 'drain'; jobs: number };

export interface SidekiqSimOptions {
  processes: number;
  /** `-c` per process. */
  threads: number;
  hostCores: number;
  /** Sidekiq's own Ruby CPU per job (fetch, JSON, middleware), added to the job's CPU; default 0. */
  frameworkCpuSec?: number;
  /** A background load on the host's cores (Redis on the same host), as a share of one core in [0, 1]; default 0. */
  backgroundCoreShare?: number;
  /** Distribution of each round's CPU and wait: 'exponential' (default) or 'deterministic'. */
  times?: 'exponential' | 'deterministic';
  /**
   * With 'deterministic' times: each draw uniform in mean·[1 − j, 1 + j], j in [0, 1); default 0.
   * Exactly fixed times let processes that share cores stay in step forever (docs/sidekiq-model.md);
   * a few per cent of jitter, as real timing has, breaks that.
   */
  timeJitter?: number;
  queues: SidekiqSimQueue[];
  load: SidekiqSimLoad;
  /** Stop at this simulated time even if work remains; default Infinity. */
  maxSimTimeSec?: number;
  rng: Rng;
}

/** Queue wait of counted jobs (enqueue → a thread takes the job), with how many finished. */
export interface SidekiqSimQueueResult extends WaitSummary {
  queue: string;
  /** Counted jobs finished. */
  completed: number;
}

export interface SidekiqSimResult {
  /**
   * Jobs finished per second in the window: for 'drain', from the job that brought the finished
   * count to 10 % to the one that brought it to 90 %; for 'poisson', from the first counted
   * arrival to the last arrival.
   */
  throughputPerSec: number;
  perQueue: SidekiqSimQueueResult[];
  /** Over all counted jobs. */
  meanWaitSec: number;
  /** Fraction of counted jobs that waited at all. */
  probabilityOfWait: number;
  /**
   * Enqueue → the job's first hold of its process's lock (when it starts running Ruby, as Sidekiq's
   * middleware sees it): the wait for a thread plus the wait for the lock. Over all counted jobs.
   */
  startWait: WaitSummary;
  /** Per process: fraction of the window its interpreter lock was held. NaN for an empty window. */
  lockUtilization: number[];
  /** Core-seconds used by lock holders and the background load / (cores · window). */
  coreUtilization: number;
  /**
   * Time the locks were held / CPU work they did: how much sharing the cores stretched a burst
   * (≥ 1); NaN when no burst ran in the window.
   */
  cpuStretch: number;
  /** Mean number of threads holding a job over the window. */
  meanBusyThreads: number;
  windowSec: number;
  /** Events processed (arrivals, I/O ends, burst ends). */
  events: number;
  /** Simulated time of the last event processed. */
  simulatedSec: number;
}

// Heap events, packed with a payload into one int32: code = payload·4 + kind.
const ARRIVAL = 0; // payload: queue index
const IO_DONE = 1; // payload: thread id
const MAX_COUNT = 2 ** 28; // payload·4 must fit an int32
const MAX_PHASES = 1000;

/**
 * The host's cores under processor sharing among the runnable lock holders and a
 * background load. All holders run at the same speed, so a virtual clock that
 * advances at that speed gives each burst a fixed finish tag (virtual start +
 * work): the classic implementation of PS [Kleinrock, *Queueing Systems* vol. 2, §4.4].
 */
class SharedCores {
  runnable = 0;
  /** CPU-seconds one holder has received since time 0. */
  virtualSec = 0;
  speed = 0;
  backgroundUse: number;

  constructor(
    readonly count: number,
    private readonly background: number,
  ) {
    this.backgroundUse = background;
  }

  advance(dtSec: number): void {
    this.virtualSec += this.speed * dtSec;
  }

  /** A holder becomes runnable with `workSec` of CPU; returns its finish tag. */
  start(workSec: number): number {
    this.runnable++;
    this.share();
    return this.virtualSec + workSec;
  }

  stop(): void {
    this.runnable--;
    this.share();
  }

  busyCores(): number {
    return this.runnable * this.speed + this.backgroundUse;
  }

  private share(): void {
    const n = this.runnable;
    this.backgroundUse = Math.min(this.background, this.count / (n + 1));
    this.speed = n > 0 ? Math.min(1, (this.count - this.backgroundUse) / n) : 0;
  }
}

/** Runs the pool under `opts.load` and reports throughput, waits and what was busy. */
export function simulateSidekiqPool(opts: SidekiqSimOptions): SidekiqSimResult {
  checkOptions(opts);
  const simulation = new SidekiqPoolSimulation(opts);
  simulation.run(opts.maxSimTimeSec ?? Infinity);
  return simulation.result(opts.queues);
}

function checkOptions(opts: SidekiqSimOptions): void {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new RangeError(`${name} must be ${expected}, got ${String(got)}`);
  };
  if (typeof opts.rng?.next !== 'function')
    fail('rng', 'a seeded generator such as seededRng(seed)', opts.rng);
  const isCount = (v: number) => Number.isInteger(v) && v >= 1 && v <= MAX_COUNT;
  if (!isCount(opts.processes)) fail('processes', 'an integer >= 1', opts.processes);
  if (!isCount(opts.threads) || !isCount(opts.processes * opts.threads))
    fail('threads', `an integer >= 1 (processes · threads ≤ ${MAX_COUNT})`, opts.threads);
  if (!(opts.hostCores > 0) || !Number.isFinite(opts.hostCores))
    fail('hostCores', 'a finite number > 0', opts.hostCores);
  const framework = opts.frameworkCpuSec ?? 0;
  if (!(framework >= 0) || !Number.isFinite(framework)) fail('frameworkCpuSec', 'finite and >= 0', framework);
  const background = opts.backgroundCoreShare ?? 0;
  if (!(background >= 0 && background <= 1)) fail('backgroundCoreShare', 'in [0, 1]', background);
  const times = opts.times ?? 'exponential';
  if (times !== 'exponential' && times !== 'deterministic')
    fail('times', "'exponential' or 'deterministic'", times);
  const jitter = opts.timeJitter ?? 0;
  if (!(jitter >= 0 && jitter < 1)) fail('timeJitter', 'in [0, 1)', jitter);
  if (jitter > 0 && times !== 'deterministic')
    fail('timeJitter', "0 unless times is 'deterministic'", jitter);
  const maxSim = opts.maxSimTimeSec ?? Infinity;
  if (Number.isNaN(maxSim) || maxSim <= 0) fail('maxSimTimeSec', '> 0', maxSim);
  checkLoad(opts.load, fail);
  if (!Array.isArray(opts.queues) || opts.queues.length === 0)
    fail('queues', 'a non-empty array', opts.queues);
  for (const [i, q] of opts.queues.entries()) checkQueue(q, `queues[${i}]`, framework, fail);
  if (!opts.queues.some((q) => q.arrivalRatePerSec > 0))
    fail('queues', 'at least one with arrivalRatePerSec > 0 (the rate, or the mix to drain)', 'none');
}

type Fail = (name: string, expected: string, got: unknown) => never;

function checkLoad(load: SidekiqSimLoad, fail: Fail): void {
  const kind: unknown = load?.kind;
  if (kind !== 'poisson' && kind !== 'drain') fail('load.kind', "'poisson' or 'drain'", kind);
  const least = load.kind === 'drain' ? 10 : 1;
  if (!Number.isInteger(load.jobs) || load.jobs < least || load.jobs > MAX_COUNT)
    fail('load.jobs', `an integer in [${least}, ${MAX_COUNT}]`, load.jobs);
  const warmup = load.kind === 'poisson' ? (load.warmupJobs ?? 0) : 0;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= load.jobs)
    fail('load.warmupJobs', 'an integer in [0, jobs)', warmup);
}

function checkQueue(q: SidekiqSimQueue, at: string, frameworkCpuSec: number, fail: Fail): void {
  if (!Number.isFinite(q.weight) || q.weight <= 0) fail(`${at}.weight`, 'a finite number > 0', q.weight);
  if (!Number.isFinite(q.arrivalRatePerSec) || q.arrivalRatePerSec < 0)
    fail(`${at}.arrivalRatePerSec`, 'a finite number >= 0', q.arrivalRatePerSec);
  if (!(q.jobCpuSec >= 0) || !Number.isFinite(q.jobCpuSec))
    fail(`${at}.jobCpuSec`, 'finite and >= 0', q.jobCpuSec);
  if (!(q.jobWaitSec >= 0) || !Number.isFinite(q.jobWaitSec))
    fail(`${at}.jobWaitSec`, 'finite and >= 0', q.jobWaitSec);
  if (q.jobCpuSec + frameworkCpuSec + q.jobWaitSec <= 0)
    fail(`${at}`, 'a job that takes some time (CPU or wait > 0)', 'all zero');
  const phases = q.phases ?? 1;
  if (!Number.isInteger(phases) || phases < 1 || phases > MAX_PHASES)
    fail(`${at}.phases`, `an integer in [1, ${MAX_PHASES}]`, phases);
}

/** Pre-filled jobs per queue: `jobs` split in proportion to the rates, largest remainders first. */
function drainCounts(queues: readonly SidekiqSimQueue[], jobs: number): number[] {
  const total = queues.reduce((a, q) => a + q.arrivalRatePerSec, 0);
  const exact = queues.map((q) => (jobs * q.arrivalRatePerSec) / total);
  const counts = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest);
  let left = jobs - counts.reduce((a, c) => a + c, 0);
  for (const { i } of order) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  return counts;
}

/** The state of one run: typed arrays per queue, per thread and per process, no object per event. */
class SidekiqPoolSimulation {
  private readonly rng: Rng;
  private readonly exponential: boolean;
  private readonly jitter: number;
  private readonly threadsPerProcess: number;
  private readonly k: number;
  private readonly weight: Float64Array;
  private readonly phases: Int32Array;
  /** Mean CPU (own + framework) and mean wait of one round, per queue. */
  private readonly roundCpuSec: Float64Array;
  private readonly roundWaitSec: Float64Array;
  private readonly meanGapSec: Float64Array;
  private readonly lines: JobLine[];
  private readonly waits: Samples[];
  private readonly startWaits = new Samples();
  /** Per thread: its job has held the lock once (its start is recorded). */
  private readonly threadStarted: Uint8Array;
  private readonly completed: Float64Array;
  // Per job: its queue and enqueue time.
  private readonly jobQueue: Int32Array;
  private readonly jobEnqueuedAt: Float64Array;
  // Per thread: its job (−1 idle), the round it is in, the CPU work of its current burst.
  private readonly threadJob: Int32Array;
  private readonly threadRound: Int32Array;
  private readonly threadWorkSec: Float64Array;
  /** Idle threads, longest idle first (Redis serves BRPOP clients in the order they blocked). */
  private readonly idle = new JobLine();
  // Per process: the lock's holder (−1 free), its burst's finish tag, the threads waiting for the lock.
  private readonly holder: Int32Array;
  private readonly finishTag: Float64Array;
  private readonly lockLines: JobLine[];
  private readonly cores: SharedCores;
  private readonly heap = new EventHeap();

  private readonly drain: boolean;
  private readonly jobs: number;
  private readonly warmupJobs: number;
  /** Drain: the finished counts (0-based) that open and close the window. */
  private readonly windowFirst: number;
  private readonly windowLast: number;
  private readonly maxSteps: number;

  private now = 0;
  private arrived = 0;
  private waiting = 0;
  private busyThreads = 0;
  private finished = 0;
  private events = 0;
  private waitedCount = 0;
  /** Process whose burst ends first (−1 none) and that end in virtual time. */
  private nextProcess = -1;
  private nextTag = Infinity;
  // The measurement window and what is integrated over it.
  private measuring = false;
  private windowStart = 0;
  private windowEnd = 0;
  private windowCompletions = 0;
  private readonly lockArea: Float64Array;
  private coreArea = 0;
  private holdArea = 0;
  private workArea = 0;
  private busyArea = 0;

  constructor(opts: SidekiqSimOptions) {
    this.rng = opts.rng;
    this.exponential = (opts.times ?? 'exponential') === 'exponential';
    this.jitter = opts.timeJitter ?? 0;
    this.threadsPerProcess = opts.threads;
    const k = opts.queues.length;
    this.k = k;
    const framework = opts.frameworkCpuSec ?? 0;
    this.weight = Float64Array.from(opts.queues, (q) => q.weight);
    this.phases = Int32Array.from(opts.queues, (q) => q.phases ?? 1);
    this.roundCpuSec = Float64Array.from(opts.queues, (q) => (q.jobCpuSec + framework) / (q.phases ?? 1));
    this.roundWaitSec = Float64Array.from(opts.queues, (q) => q.jobWaitSec / (q.phases ?? 1));
    this.meanGapSec = Float64Array.from(opts.queues, (q) =>
      q.arrivalRatePerSec > 0 ? 1 / q.arrivalRatePerSec : Infinity,
    );
    this.lines = Array.from({ length: k }, () => new JobLine());
    this.waits = Array.from({ length: k }, () => new Samples());
    this.completed = new Float64Array(k);
    const load = opts.load;
    this.drain = load.kind === 'drain';
    this.jobs = load.jobs;
    this.warmupJobs = load.kind === 'poisson' ? (load.warmupJobs ?? 0) : 0;
    this.windowFirst = Math.floor(this.jobs * 0.1);
    this.windowLast = Math.ceil(this.jobs * 0.9) - 1;
    this.jobQueue = new Int32Array(this.jobs);
    this.jobEnqueuedAt = new Float64Array(this.jobs);
    const threads = opts.processes * opts.threads;
    this.threadJob = new Int32Array(threads).fill(-1);
    this.threadRound = new Int32Array(threads);
    this.threadStarted = new Uint8Array(threads);
    this.threadWorkSec = new Float64Array(threads);
    // Started one thread of each process in turn.
    for (let i = 0; i < opts.threads; i++)
      for (let p = 0; p < opts.processes; p++) this.idle.push(p * opts.threads + i);
    this.holder = new Int32Array(opts.processes).fill(-1);
    this.finishTag = new Float64Array(opts.processes);
    this.lockLines = Array.from({ length: opts.processes }, () => new JobLine());
    this.lockArea = new Float64Array(opts.processes);
    this.cores = new SharedCores(opts.hostCores, opts.backgroundCoreShare ?? 0);
    const maxPhases = Math.max(...this.phases);
    this.maxSteps = this.jobs * (2 * maxPhases + 1) + k + 1;
    this.start(opts.queues);
  }

  /** Drain: every job queued at time 0, window opened later. Poisson: each queue's first arrival. */
  private start(queues: readonly SidekiqSimQueue[]): void {
    if (this.drain) {
      drainCounts(queues, this.jobs).forEach((count, q) => {
        for (let i = 0; i < count; i++) {
          const job = this.arrived++;
          this.jobQueue[job] = q;
          this.enqueue(job, q);
        }
      });
      return;
    }
    for (let q = 0; q < this.k; q++) {
      const gap = this.meanGapSec[q]!;
      if (gap < Infinity) this.heap.push(-gap * Math.log(1 - this.rng.next()), q * 4 + ARRIVAL);
    }
  }

  run(maxSimTimeSec: number): void {
    const heap = this.heap;
    for (let step = 0; step < this.maxSteps; step++) {
      this.dispatch();
      if (this.drain && this.finished === this.jobs) break;
      const heapTime = heap.size > 0 ? heap.topTime() : Infinity;
      const burstTime = this.nextBurstEnd();
      const t = Math.min(heapTime, burstTime);
      if (t === Infinity || t > maxSimTimeSec) break;
      this.advance(t);
      this.events++;
      if (burstTime <= heapTime) {
        this.endBurst(this.nextProcess);
        continue;
      }
      const code = heap.topCode();
      heap.pop();
      if ((code & 3) === ARRIVAL) this.arrive(code >> 2);
      else this.nextRound(code >> 2);
    }
    if (this.measuring) this.windowEnd = this.now; // cut short by maxSimTimeSec
  }

  /** Moves the clock to `t`, integrating what the window measures. */
  private advance(t: number): void {
    const dt = t - this.now;
    if (dt > 0) {
      if (this.measuring) {
        const cores = this.cores;
        for (let p = 0; p < this.holder.length; p++) if (this.holder[p]! >= 0) this.lockArea[p]! += dt;
        this.coreArea += cores.busyCores() * dt;
        this.holdArea += cores.runnable * dt;
        this.workArea += cores.runnable * cores.speed * dt;
        this.busyArea += this.busyThreads * dt;
      }
      this.cores.advance(dt);
    }
    this.now = t;
  }

  private draw(meanSec: number): number {
    if (this.exponential) return -meanSec * Math.log(1 - this.rng.next());
    if (this.jitter === 0 || meanSec === 0) return meanSec;
    return meanSec * (1 + this.jitter * (2 * this.rng.next() - 1));
  }

  private arrive(q: number): void {
    if (this.arrived >= this.jobs) return; // a queue's pending arrival after the last job
    const job = this.arrived++;
    if (job === this.warmupJobs) this.openWindow();
    this.jobQueue[job] = q;
    this.enqueue(job, q);
    if (this.arrived < this.jobs) {
      this.heap.push(this.now - this.meanGapSec[q]! * Math.log(1 - this.rng.next()), q * 4 + ARRIVAL);
    } else if (this.measuring) {
      this.closeWindow();
    }
  }

  private enqueue(job: number, q: number): void {
    this.jobEnqueuedAt[job] = this.now;
    this.lines[q]!.push(job);
    this.waiting++;
  }

  private openWindow(): void {
    this.measuring = true;
    this.windowStart = this.now;
  }

  private closeWindow(): void {
    this.measuring = false;
    this.windowEnd = this.now;
  }

  /** Idle threads, longest idle first, take waiting jobs. */
  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting > 0) {
      const q = this.k > 1 ? pickWeighted(this.lines, this.weight, this.rng) : 0;
      const job = this.lines[q]!.shift();
      this.waiting--;
      const thread = this.idle.shift();
      if (job >= this.warmupJobs) {
        const wait = this.now - this.jobEnqueuedAt[job]!;
        this.waits[q]!.push(wait);
        if (wait > 0) this.waitedCount++;
      }
      this.busyThreads++;
      this.threadJob[thread] = job;
      this.threadRound[thread] = 0;
      this.threadStarted[thread] = 0;
      if (!(this.roundCpuSec[q]! > 0)) this.recordStart(thread); // a job without CPU starts when taken
      this.startRound(thread);
    }
  }

  /** The thread's current round: a burst (if any CPU), else its wait (if any), else the next round. */
  private startRound(thread: number): void {
    const q = this.jobQueue[this.threadJob[thread]!]!;
    while (this.threadRound[thread]! < this.phases[q]!) {
      const workSec = this.draw(this.roundCpuSec[q]!);
      if (workSec > 0) {
        this.threadWorkSec[thread] = workSec;
        this.requestLock(thread);
        return;
      }
      if (this.startWait(thread, q)) return;
      this.threadRound[thread]!++;
    }
    this.finishJob(thread);
  }

  /** The round's I/O wait; false when it draws none. */
  private startWait(thread: number, q: number): boolean {
    const waitSec = this.draw(this.roundWaitSec[q]!);
    if (waitSec <= 0) return false;
    this.heap.push(this.now + waitSec, thread * 4 + IO_DONE);
    return true;
  }

  /** The thread's wait ended: on to its next round. */
  private nextRound(thread: number): void {
    this.threadRound[thread]!++;
    this.startRound(thread);
  }

  private requestLock(thread: number): void {
    const p = Math.floor(thread / this.threadsPerProcess);
    if (this.holder[p]! < 0) this.acquire(p, thread);
    else this.lockLines[p]!.push(thread);
  }

  private recordStart(thread: number): void {
    if (this.threadStarted[thread]) return;
    this.threadStarted[thread] = 1;
    const job = this.threadJob[thread]!;
    if (job >= this.warmupJobs) this.startWaits.push(this.now - this.jobEnqueuedAt[job]!);
  }

  private acquire(p: number, thread: number): void {
    this.recordStart(thread);
    this.holder[p] = thread;
    this.finishTag[p] = this.cores.start(this.threadWorkSec[thread]!);
    this.findNextBurstEnd();
  }

  /** Process `p`'s holder finished its burst: the lock passes to the next in line, the thread waits. */
  private endBurst(p: number): void {
    const thread = this.holder[p]!;
    this.holder[p] = -1;
    this.cores.stop();
    const line = this.lockLines[p]!;
    if (line.length > 0) this.acquire(p, line.shift());
    else this.findNextBurstEnd();
    const q = this.jobQueue[this.threadJob[thread]!]!;
    if (!this.startWait(thread, q)) this.nextRound(thread);
  }

  private findNextBurstEnd(): void {
    this.nextProcess = -1;
    this.nextTag = Infinity;
    for (let p = 0; p < this.holder.length; p++) {
      if (this.holder[p]! >= 0 && this.finishTag[p]! < this.nextTag) {
        this.nextTag = this.finishTag[p]!;
        this.nextProcess = p;
      }
    }
  }

  /** Real time at which the first running burst ends at the current speed; Infinity if none. */
  private nextBurstEnd(): number {
    if (this.nextProcess < 0) return Infinity;
    const cores = this.cores;
    return this.now + Math.max(0, this.nextTag - cores.virtualSec) / cores.speed;
  }

  private finishJob(thread: number): void {
    const job = this.threadJob[thread]!;
    this.threadJob[thread] = -1;
    this.busyThreads--;
    this.idle.push(thread);
    if (job >= this.warmupJobs) this.completed[this.jobQueue[job]!]!++;
    if (this.measuring) this.windowCompletions++;
    if (this.drain) {
      if (this.finished === this.windowFirst) this.openWindow();
      if (this.finished === this.windowLast) this.closeWindow();
    }
    this.finished++;
  }

  result(queues: readonly SidekiqSimQueue[]): SidekiqSimResult {
    let totalSamples = 0;
    let totalWait = 0;
    const perQueue = queues.map((spec, q): SidekiqSimQueueResult => {
      const samples = this.waits[q]!;
      totalSamples += samples.length;
      totalWait += samples.sum;
      return { queue: spec.queue, completed: this.completed[q]!, ...summarizeWaits(samples) };
    });
    const windowSec = this.windowEnd - this.windowStart;
    const per = (area: number) => (windowSec > 0 ? area / windowSec : NaN);
    return {
      throughputPerSec: per(this.windowCompletions),
      perQueue,
      meanWaitSec: totalSamples > 0 ? totalWait / totalSamples : NaN,
      probabilityOfWait: totalSamples > 0 ? this.waitedCount / totalSamples : NaN,
      startWait: summarizeWaits(this.startWaits),
      lockUtilization: Array.from(this.lockArea, per),
      coreUtilization: per(this.coreArea) / this.cores.count,
      cpuStretch: this.workArea > 0 ? this.holdArea / this.workArea : NaN,
      meanBusyThreads: per(this.busyArea),
      windowSec,
      events: this.events,
      simulatedSec: this.now,
    };
  }
}

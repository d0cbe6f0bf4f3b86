import { afterAll, describe, expect, it } from 'vitest';
import { flowEquivalentMetrics, flowEquivalentWaitPercentileSec } from '../../../src/model/flowEquivalent.js';
import { metricsAt } from '../../../src/model/queueing.js';
import { sidekiqQueueLatency } from '../../../src/model/sidekiqLatency.js';
import { type SidekiqPoolShape, sidekiqPoolCapacity } from '../../../src/model/sidekiqNetwork.js';
import {
  type SidekiqSimOptions,
  type SidekiqSimQueue,
  simulateSidekiqPool,
} from '../../../src/model/simulateSidekiqPool.js';
import { type Rng, seededRng } from '../../../src/shared/random.js';

const job = (
  jobCpuSec: number,
  jobWaitSec: number,
  over: Partial<SidekiqSimQueue> = {},
): SidekiqSimQueue => ({
  queue: 'default',
  weight: 1,
  arrivalRatePerSec: 1,
  jobCpuSec,
  jobWaitSec,
  ...over,
});

const drain = (over: Partial<SidekiqSimOptions>, jobs = 2000): SidekiqSimOptions => ({
  processes: 1,
  threads: 1,
  hostCores: 2,
  queues: [job(0.01, 0.01)],
  load: { kind: 'drain', jobs },
  rng: seededRng(1),
  ...over,
});

describe('simulateSidekiqPool: the physics, on cases with exact answers', () => {
  it('one thread with fixed times: a job every cpu + wait, the lock held cpu/(cpu + wait) of the time', () => {
    const r = simulateSidekiqPool(drain({ times: 'deterministic', queues: [job(0.006, 0.014)] }, 1000));
    expect(r.throughputPerSec).toBeCloseTo(50, 9);
    expect(r.lockUtilization[0]).toBeCloseTo(0.3, 9);
    expect(r.coreUtilization).toBeCloseTo(0.15, 9); // one of two cores, 30 % of the time
    expect(r.cpuStretch).toBeCloseTo(1, 9);
    expect(r.meanBusyThreads).toBeCloseTo(1, 9);
    // the window runs from the 101st job finished to the 900th: 799 jobs at 20 ms
    expect(r.windowSec).toBeCloseTo(15.98, 9);
    expect(r.perQueue[0]!.completed).toBe(1000);
  });

  it('the lock admits one burst at a time: two threads with fixed times interleave, five queue for it', () => {
    // cpu = wait: two threads alternate perfectly (100/s); more threads only queue for the lock.
    for (const threads of [2, 5]) {
      const r = simulateSidekiqPool(drain({ threads, times: 'deterministic' }));
      expect(r.throughputPerSec, `-c ${threads}`).toBeCloseTo(100, 6);
      expect(r.lockUtilization[0]).toBeCloseTo(1, 6);
    }
  });

  it('lock holders share the cores: three CPU-bound processes on two cores run at 2/3 speed', () => {
    for (const times of ['exponential', 'deterministic'] as const) {
      const r = simulateSidekiqPool(
        drain({ processes: 3, threads: 5, times, queues: [job(0.01, 0)], rng: seededRng(2) }, 20_000),
      );
      expect(r.cpuStretch, times).toBeCloseTo(1.5, 6);
      expect(r.coreUtilization).toBeCloseTo(1, 6);
      for (const u of r.lockUtilization) expect(u).toBeCloseTo(1, 6);
      // cores / cpu = 200/s; exponential bursts: within the run's noise
      expect(Math.abs(r.throughputPerSec / 200 - 1), times).toBeLessThan(
        times === 'exponential' ? 0.02 : 1e-9,
      );
    }
  });

  it('a background load takes its share of a core first when it can have it', () => {
    // One CPU-bound process on one core with Redis wanting half a core: fair shares are 1/2 each.
    const half = simulateSidekiqPool(
      drain({ hostCores: 1, backgroundCoreShare: 0.5, times: 'deterministic', queues: [job(0.01, 0)] }),
    );
    expect(half.throughputPerSec).toBeCloseTo(50, 6);
    expect(half.cpuStretch).toBeCloseTo(2, 6);
    expect(half.coreUtilization).toBeCloseTo(1, 6);
    // 20 % of a core on two cores: the one holder still has a whole core.
    const spare = simulateSidekiqPool(
      drain({ backgroundCoreShare: 0.2, times: 'deterministic', queues: [job(0.01, 0)] }),
    );
    expect(spare.throughputPerSec).toBeCloseTo(100, 6);
    expect(spare.coreUtilization).toBeCloseTo(0.6, 6);
  });

  it('framework CPU is Ruby CPU too, and phases split a job without changing its totals', () => {
    const framework = simulateSidekiqPool(
      drain({ times: 'deterministic', frameworkCpuSec: 0.002, queues: [job(0.008, 0.01, { phases: 4 })] }),
    );
    expect(framework.throughputPerSec).toBeCloseTo(50, 6);
    expect(framework.lockUtilization[0]).toBeCloseTo(0.5, 6);
    // Fixed times, -c 2: one phase interleaves perfectly; with 3 phases the threads still alternate.
    const phased = simulateSidekiqPool(
      drain({ threads: 2, times: 'deterministic', queues: [job(0.01, 0.01, { phases: 3 })] }),
    );
    // (the two threads finish 3.3 ms apart, and the window may start on one and end on the other)
    expect(Math.abs(phased.throughputPerSec / 100 - 1)).toBeLessThan(1e-3);
  });

  it('with no CPU the threads are c exponential servers: Poisson arrivals wait as Erlang C says', () => {
    // 2 processes × 3 threads, S = 10 ms, ρ = 0.8. Observed: mean wait −1.3 % from M/M/6 over 8 runs.
    const station = { arrivalRatePerSec: 480, serviceTimeSec: 0.01, servers: 6 };
    const analytic = metricsAt(station);
    const runs = Array.from({ length: 8 }, (_, r) =>
      simulateSidekiqPool({
        processes: 2,
        threads: 3,
        hostCores: 1,
        queues: [job(0, 0.01, { arrivalRatePerSec: 480 })],
        load: { kind: 'poisson', jobs: 40_000, warmupJobs: 4_000 },
        rng: seededRng(10 + r),
      }),
    );
    const mean = (f: (r: (typeof runs)[number]) => number) =>
      runs.reduce((a, r) => a + f(r), 0) / runs.length;
    expect(Math.abs(mean((r) => r.meanWaitSec) / analytic.meanWaitSec - 1)).toBeLessThan(0.05);
    expect(Math.abs(mean((r) => r.probabilityOfWait) - analytic.probabilityOfWait)).toBeLessThan(0.02);
    expect(Math.abs(mean((r) => r.meanBusyThreads) - analytic.offeredLoadErlangs)).toBeLessThan(0.05);
    expect(Math.abs(mean((r) => r.throughputPerSec) / 480 - 1)).toBeLessThan(0.01);
    expect(mean((r) => r.coreUtilization)).toBe(0);
  });

  it('drains several queues with Sidekiq’s weighted fetch: jobs split by rate, the heavy weight first', () => {
    const r = simulateSidekiqPool(
      drain(
        {
          threads: 5,
          queues: [
            job(0.002, 0.008, { queue: 'default', weight: 8, arrivalRatePerSec: 3 }),
            job(0.002, 0.008, { queue: 'pull', weight: 1, arrivalRatePerSec: 1 }),
          ],
        },
        4000,
      ),
    );
    expect(r.perQueue.map((q) => q.completed)).toEqual([3000, 1000]);
    expect(r.perQueue[1]!.meanWaitSec).toBeGreaterThan(1.5 * r.perQueue[0]!.meanWaitSec);
  });
});

describe('simulateSidekiqPool: bounds, determinism and input checks', () => {
  it('stops at maxSimTimeSec when overloaded, and is a pure function of its options and seed', () => {
    const over = (rng: Rng): SidekiqSimOptions => ({
      processes: 2,
      threads: 2,
      hostCores: 1,
      queues: [job(0.01, 0.01, { arrivalRatePerSec: 500 }), job(0.001, 0.05, { queue: 'pull', weight: 2 })],
      load: { kind: 'poisson', jobs: 1_000_000, warmupJobs: 10 },
      maxSimTimeSec: 20,
      rng,
    });
    const r = simulateSidekiqPool(over(seededRng(5)));
    expect(r.simulatedSec).toBeLessThanOrEqual(20);
    expect(r.events).toBeLessThan(40_000);
    for (const u of r.lockUtilization) expect(u).toBeGreaterThan(0.9);
    expect(simulateSidekiqPool(over(seededRng(5)))).toEqual(r);
  });

  it('throws RangeError naming the option', () => {
    const ok = drain({});
    const bad = (over: Partial<SidekiqSimOptions>) => () => simulateSidekiqPool({ ...ok, ...over });
    expect(bad({ processes: 0 })).toThrow(/processes/);
    expect(bad({ threads: 1.5 })).toThrow(/threads/);
    expect(bad({ hostCores: 0 })).toThrow(/hostCores/);
    expect(bad({ frameworkCpuSec: -1 })).toThrow(/frameworkCpuSec/);
    expect(bad({ backgroundCoreShare: 1.5 })).toThrow(/backgroundCoreShare/);
    expect(bad({ times: 'gamma' as 'exponential' })).toThrow(/times/);
    expect(bad({ timeJitter: 0.1 })).toThrow(/timeJitter/); // exponential times
    expect(bad({ times: 'deterministic', timeJitter: 1 })).toThrow(/timeJitter/);
    expect(bad({ maxSimTimeSec: 0 })).toThrow(/maxSimTimeSec/);
    expect(bad({ load: { kind: 'drain', jobs: 9 } })).toThrow(/load\.jobs/);
    expect(bad({ load: { kind: 'poisson', jobs: 10, warmupJobs: 10 } })).toThrow(/warmupJobs/);
    expect(bad({ load: { kind: 'open' } as unknown as SidekiqSimOptions['load'] })).toThrow(/load\.kind/);
    expect(bad({ queues: [] })).toThrow(/queues/);
    expect(bad({ queues: [job(0.01, 0.01, { weight: 0 })] })).toThrow(/queues\[0\]\.weight/);
    expect(bad({ queues: [job(-0.01, 0.01)] })).toThrow(/queues\[0\]\.jobCpuSec/);
    expect(bad({ queues: [job(0.01, Number.NaN)] })).toThrow(/queues\[0\]\.jobWaitSec/);
    expect(bad({ queues: [job(0, 0)] })).toThrow(/queues\[0\]/);
    expect(bad({ queues: [job(0.01, 0.01, { phases: 0 })] })).toThrow(/queues\[0\]\.phases/);
    expect(bad({ queues: [job(0.01, 0.01, { arrivalRatePerSec: 0 })] })).toThrow(/arrivalRatePerSec > 0/);
    expect(bad({ rng: undefined as unknown as Rng })).toThrow(/rng/);
  });
});

/**
 * The closed-network model (sidekiqNetwork.ts) and the flow-equivalent server on its curve
 * (flowEquivalent.ts) against the simulation. Each check asserts the relative error
 * analytic/simulated − 1 lies in a band around the error observed when it was written
 * (docs/sidekiq-model.md, "The lock in the simulation"); the bands contain 0, so a better
 * model passes, and reach past the observed error by the runs' noise and a little more.
 * FEDICAP_AGREEMENT=1 prints every figure.
 */
interface Agreement {
  check: string;
  analytic: number;
  simulated: number;
  /** 95 % half-width of the simulated mean over the runs, relative to it. */
  noise: number;
  error: number;
}
const agreement: Agreement[] = [];
afterAll(() => {
  if (!process.env.FEDICAP_AGREEMENT || agreement.length === 0) return;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.table(
    agreement.map((a) => ({
      check: a.check,
      analytic: Number(a.analytic.toPrecision(4)),
      simulated: Number(a.simulated.toPrecision(4)),
      '± (95 %)': pct(a.noise),
      error: pct(a.error),
    })),
  );
});

const T95 = 2.365; // two-sided 95 % Student-t quantile, 7 degrees of freedom (8 runs)
const RUNS = 8;

function expectAgreement(
  check: string,
  analytic: number,
  runs: readonly number[],
  low: number,
  high: number,
) {
  const n = runs.length;
  const mean = runs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(runs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const error = analytic / mean - 1;
  agreement.push({ check, analytic, simulated: mean, noise: (T95 * sd) / Math.sqrt(n) / mean, error });
  const what = `${check}: analytic ${analytic} vs simulated ${mean} (error ${error})`;
  expect(error, what).toBeGreaterThanOrEqual(low);
  expect(error, what).toBeLessThanOrEqual(high);
}

const shape = (over: Partial<SidekiqPoolShape>): SidekiqPoolShape => ({
  processes: 1,
  threads: 5,
  jobCpuSec: 0.01,
  jobWaitSec: 0.01,
  frameworkCpuSec: 0,
  hostCores: 2,
  redisCpuSecPerJob: 0,
  ...over,
});

const label = (s: SidekiqPoolShape, over: Partial<SidekiqSimOptions>) =>
  `P${s.processes} -c ${s.threads} on ${s.hostCores} cores, ${s.jobCpuSec * 1e3}/${s.jobWaitSec * 1e3} ms` +
  (over.times === 'deterministic' ? ` fixed ±${(over.timeJitter ?? 0) * 100} %` : '') +
  (over.backgroundCoreShare ? ` with ${over.backgroundCoreShare} core of Redis` : '');

/** The simulation of a shape; the caller adds the load, times and seed. */
const simOf = (s: SidekiqPoolShape, over: Partial<SidekiqSimOptions>) => ({
  processes: s.processes,
  threads: s.threads,
  hostCores: s.hostCores,
  frameworkCpuSec: s.frameworkCpuSec,
  queues: [job(s.jobCpuSec, s.jobWaitSec)],
  ...over,
});

/** Drain throughput of `RUNS` simulated drains of `jobs` jobs each. */
function drains(s: SidekiqPoolShape, over: Partial<SidekiqSimOptions>, seed: number, jobs = 20_000) {
  return Array.from(
    { length: RUNS },
    (_, r) =>
      simulateSidekiqPool({ ...simOf(s, over), load: { kind: 'drain', jobs }, rng: seededRng(seed + r) })
        .throughputPerSec,
  );
}

/**
 * The pool's throughput curve X(n) at n = P·c jobs in service, c = 1…threads, against drains of the
 * same pool at -c c. `curve` bands the full shape's curve (what the flow-equivalent server reads);
 * `own` bands the model solved at -c c (its maxThroughputPerSec).
 */
function checkCurve(
  s: SidekiqPoolShape,
  over: Partial<SidekiqSimOptions>,
  seed: number,
  curve: [number, number],
  own: [number, number] = curve,
) {
  const full = sidekiqPoolCapacity(s);
  for (let c = 1; c <= s.threads; c++) {
    const at = { ...s, threads: c };
    const runs = drains(at, over, seed + 100 * c);
    const n = s.processes * c;
    expectAgreement(`${label(s, over)}: X(${n})`, full.throughputAt[n - 1]!, runs, ...curve);
    if (s.processes > 1 || over.backgroundCoreShare) {
      expectAgreement(`${label(at, over)}: max`, sidekiqPoolCapacity(at).maxThroughputPerSec, runs, ...own);
    }
  }
}

const FIXED: Partial<SidekiqSimOptions> = { times: 'deterministic', timeJitter: 0.05 };

describe('sidekiqPoolCapacity against simulated drains', () => {
  it('one process, exponential times: exact MVA, within the runs’ noise (observed ≤ 0.3 %)', () => {
    checkCurve(shape({}), {}, 1000, [-0.02, 0.02]);
    checkCurve(shape({ jobCpuSec: 0.004, jobWaitSec: 0.016 }), {}, 2000, [-0.02, 0.02]);
  });

  it('one process, fixed times (±5 %): MVA is low at the knee, by up to 20 % (-c 2 of 10/10 ms)', () => {
    // Observed: 10/10 ms −19.0 % at -c 2, −6.3 % at -c 3, ≥ −1.5 % beyond; 4/16 ms −3.8 % at -c 2
    // growing to −18.1 % at -c 5, where fixed bursts keep the lock 98 % busy and MVA expects queueing.
    checkCurve(shape({}), FIXED, 3000, [-0.21, 0.005]);
    checkCurve(shape({ jobCpuSec: 0.004, jobWaitSec: 0.016 }), FIXED, 4000, [-0.2, 0.005]);
  });

  it('one process, fixed times (±5 %) told to the model (timeScv 0): the residual-life correction halves that', () => {
    // Observed: 10/10 ms −10.0 % at -c 2, 0.0 % beyond; 4/16 ms −1.9 % at -c 2 to −9.9 % at -c 5.
    checkCurve(shape({ timeScv: 0 }), FIXED, 3000, [-0.11, 0.005]);
    checkCurve(shape({ jobCpuSec: 0.004, jobWaitSec: 0.016, timeScv: 0 }), FIXED, 4000, [-0.11, 0.005]);
  });

  it('two processes on two cores never share a core: exact per process (observed ≤ 0.3 %)', () => {
    checkCurve(shape({ processes: 2, jobCpuSec: 0.016, jobWaitSec: 0.004 }), {}, 5000, [-0.02, 0.02]);
  });

  it('three processes on two cores: the capacity holds, and so does the curve’s low end', () => {
    // Observed, exponential: X(15) −0.0 % (both shapes). The stretch is solved at each population:
    // X(3) −1.1 % (16/4 ms) and +6.1 % (10/10 ms), a mean-value estimate (with the stretch of full
    // load at every n it was −10.0 % and −15.1 %). Fixed times (±5 %), 10/10 ms: X(3) +6.2 %.
    checkCurve(
      shape({ processes: 3, jobCpuSec: 0.016, jobWaitSec: 0.004 }),
      {},
      6000,
      [-0.04, 0.02],
      [-0.03, 0.02],
    );
    checkCurve(shape({ processes: 3 }), {}, 7000, [-0.02, 0.09], [-0.03, 0.08]);
    checkCurve(shape({ processes: 3 }), FIXED, 8000, [-0.06, 0.09], [-0.06, 0.09]);
  });

  it('two processes on one core: the same (observed X(2) −4.6 %; −16.8 % with the full-load stretch)', () => {
    checkCurve(shape({ processes: 2, hostCores: 1 }), {}, 9000, [-0.07, 0.02], [-0.07, 0.02]);
  });

  it('Redis on the host: a background 0.3 of a core (observed +0.3 % and +0.8 % at full load)', () => {
    // The model's Redis CPU per job is set so that it uses the same 0.3 core at the model's own
    // throughput. The simulation gives Redis its 0.3 core whenever its fair share allows, so three
    // busy lock holders get 1.7 cores (stretch 1.76), as the model does by taking Redis off the top:
    // 170/s against 168.7/s simulated. (Counting Redis as 0.3 of a runnable thread, stretch 1.65, it
    // over-predicted by 7.8 %, above its own host-cores bound.)
    for (const [s, seed, high] of [
      [shape({ processes: 2, jobCpuSec: 0.016, jobWaitSec: 0.004 }), 10_000, 0.02],
      [shape({ processes: 3 }), 11_000, 0.02],
    ] as const) {
      let model = sidekiqPoolCapacity(s);
      for (let i = 0; i < 50; i++)
        model = sidekiqPoolCapacity({ ...s, redisCpuSecPerJob: 0.3 / model.maxThroughputPerSec });
      const runs = drains(s, { backgroundCoreShare: 0.3 }, seed);
      expectAgreement(
        `${label(s, { backgroundCoreShare: 0.3 })}: max`,
        model.maxThroughputPerSec,
        runs,
        -0.02,
        high,
      );
    }
  });
});

describe('flowEquivalentMetrics on the model’s curve against simulated Poisson arrivals', () => {
  /** Mean, p95 and p99 queue waits and P(wait) of `RUNS` runs at `fraction` of the model's capacity. */
  function waits(
    s: SidekiqPoolShape,
    fraction: number,
    over: Partial<SidekiqSimOptions>,
    seed: number,
    jobs = 60_000,
  ) {
    const pool = sidekiqPoolCapacity(s);
    const rate = fraction * pool.maxThroughputPerSec;
    const runs = Array.from({ length: RUNS }, (_, r) =>
      simulateSidekiqPool({
        ...simOf(s, over),
        queues: [job(s.jobCpuSec, s.jobWaitSec, { arrivalRatePerSec: rate })],
        load: { kind: 'poisson', jobs, warmupJobs: jobs / 10 },
        rng: seededRng(seed + r),
      }),
    );
    const fes = flowEquivalentMetrics(pool.throughputAt, rate);
    const at = `${label(s, over)} at ${fraction * 100} %`;
    return {
      mean: (low: number, high: number) =>
        expectAgreement(
          `${at} mean wait`,
          fes.meanWaitSec,
          runs.map((r) => r.meanWaitSec),
          low,
          high,
        ),
      percentile: (p: 95 | 99, low: number, high: number) =>
        expectAgreement(
          `${at} p${p} wait`,
          flowEquivalentWaitPercentileSec(fes, p),
          runs.map((r) => (p === 95 ? r.perQueue[0]!.p95WaitSec : r.perQueue[0]!.p99WaitSec)),
          low,
          high,
        ),
      probabilityOfWait: (slack: number) => {
        const simulated = runs.reduce((a, r) => a + r.probabilityOfWait, 0) / runs.length;
        expect(Math.abs(fes.probabilityOfWait - simulated), `${at} P(wait)`).toBeLessThan(slack);
      },
    };
  }

  it('one process whose lock binds (10/10 ms, -c 5): within the runs’ noise (observed ≤ 0.5 %)', () => {
    // At 50 % only 5 % of jobs wait, so the p95 is ~0 on both sides: the p99 is compared instead.
    const half = waits(shape({}), 0.5, {}, 20_000);
    half.mean(-0.1, 0.1);
    half.percentile(99, -0.08, 0.08);
    half.probabilityOfWait(0.01);
    const busy = waits(shape({}), 0.8, {}, 21_000);
    busy.mean(-0.08, 0.08);
    busy.percentile(95, -0.08, 0.08);
    busy.probabilityOfWait(0.01);
  });

  it('jobs less variable than exponential (two stages): the server is pessimistic by 19–26 %', () => {
    // The server completes jobs at X(n) as if memoryless; a job's time in the pool is a CPU stage
    // plus an I/O stage, squared coefficient of variation < 1, so queues are shorter than it says
    // (as M/G/c against M/M/c). Observed: 4/16 ms -c 5: mean +22.3/+22.7 %, p95 +19.4/+24.8 %;
    // 10/10 ms -c 2: mean +23.1/+25.0 %, p95 +23.4/+25.6 % (at 50/80 %).
    for (const [s, seed] of [
      [shape({ jobCpuSec: 0.004, jobWaitSec: 0.016 }), 22_000],
      [shape({ threads: 2 }), 23_000],
    ] as const) {
      for (const fraction of [0.5, 0.8]) {
        const w = waits(s, fraction, {}, seed + 100 * fraction);
        w.mean(-0.05, 0.35);
        w.percentile(95, -0.05, 0.35);
      }
    }
  });

  it('several processes: optimistic when jobs pile up in one process, pessimistic when cores are shared', () => {
    // The curve assumes jobs in service spread evenly over the processes; a free thread of any
    // process takes the next job, so two jobs often share a lock while another process idles.
    // Observed, 2 processes on 2 cores, 16/4 ms, at 80 %: mean −20.0 %, p95 −17.5 % (at 50 % waits
    // are ~0.05 ms; its mean wait comes from rare long bursts, hence the longer runs). 3 processes
    // -c 2 on 2 cores, 10/10 ms: the curve's low end (full-load stretch) and the two stages outweigh
    // it: mean +39.0/+21.9 %, p99 +24.1 % at 50 %, p95 +14.7 % at 80 %.
    const spread = waits(
      shape({ processes: 2, jobCpuSec: 0.016, jobWaitSec: 0.004 }),
      0.8,
      {},
      24_000,
      200_000,
    );
    spread.mean(-0.25, 0.05);
    spread.percentile(95, -0.25, 0.05);
    const shared = shape({ processes: 3, threads: 2 });
    const half = waits(shared, 0.5, {}, 25_000);
    half.mean(-0.05, 0.55);
    half.percentile(99, -0.05, 0.4);
    const busy = waits(shared, 0.8, {}, 26_000);
    busy.mean(-0.05, 0.45);
    busy.percentile(95, -0.05, 0.35);
  });

  it('fixed times (±5 %): the server is conservative, by a factor 3–11', () => {
    // Observed, 10/10 ms -c 5: mean 1.02 ms vs 0.11 ms at 50 % (×9.2), 19.9 ms vs 5.2 ms at 80 %
    // (×3.8); p99 32.7 ms vs 2.9 ms at 50 % (×11), p95 104 ms vs 34 ms at 80 % (×3.0). The
    // real-Sidekiq benchmark's jobs are of this kind. The bands only ask that it not under-predict.
    const half = waits(shape({}), 0.5, FIXED, 27_000);
    half.mean(0, 12);
    half.percentile(99, 0, 14);
    const busy = waits(shape({}), 0.8, FIXED, 28_000);
    busy.mean(0, 5);
    busy.percentile(95, 0, 4);
  });
});

describe('sidekiqQueueLatency against simulated waits until a job first holds its lock', () => {
  /** Poisson arrivals at `fraction` of the model's capacity: the model's and the runs' start waits. */
  function startWaits(s: SidekiqPoolShape, fraction: number, over: Partial<SidekiqSimOptions>, seed: number) {
    const pool = sidekiqPoolCapacity(s);
    const rate = fraction * pool.maxThroughputPerSec;
    const jobs = 60_000;
    const runs = Array.from(
      { length: RUNS },
      (_, r) =>
        simulateSidekiqPool({
          ...simOf(s, over),
          queues: [job(s.jobCpuSec, s.jobWaitSec, { arrivalRatePerSec: rate })],
          load: { kind: 'poisson', jobs, warmupJobs: jobs / 10 },
          rng: seededRng(seed + r),
        }).startWait,
    );
    const model = sidekiqQueueLatency(s, pool, rate);
    const at = `${label(s, over)} at ${fraction * 100} % start`;
    return (bands: { mean: [number, number]; p95: [number, number] }) => {
      expectAgreement(
        `${at} mean`,
        model.meanWaitSec,
        runs.map((r) => r.meanWaitSec),
        ...bands.mean,
      );
      expectAgreement(
        `${at} p95`,
        model.percentileWaitSec(95),
        runs.map((r) => r.p95WaitSec),
        ...bands.p95,
      );
    };
  }
  type Band = [number, number];
  const check = (
    s: SidekiqPoolShape,
    over: Partial<SidekiqSimOptions>,
    seed: number,
    mean: Band,
    p95: Band,
  ) => {
    for (const fraction of [0.5, 0.7]) startWaits(s, fraction, over, seed + fraction * 100)({ mean, p95 });
  };

  it('one process: one thread is M/G/1, many wait for the lock (observed −10 … +16 %)', () => {
    // Observed at 50/70 %: -c 1 10/10 ms mean +0.2/+0.2 %, p95 +2.7/+2.5 %; -c 5 10/10 ms −1.9/−9.6 %,
    // +1.8/−3.5 %; -c 25 10/2 ms (the lock binds) +0.1/+1.0 %, +2.5/+15.6 %; -c 5 4/16 ms +2.9/+5.4 %,
    // +5.0/+9.2 %.
    check(shape({ threads: 1 }), {}, 30_000, [-0.03, 0.03], [-0.02, 0.06]);
    check(shape({}), {}, 31_000, [-0.13, 0.02], [-0.07, 0.05]);
    check(shape({ threads: 25, jobWaitSec: 0.002 }), {}, 32_000, [-0.03, 0.04], [-0.02, 0.2]);
    check(shape({ jobCpuSec: 0.004, jobWaitSec: 0.016 }), {}, 33_000, [-0.02, 0.09], [-0.02, 0.13]);
  });

  it('fixed times (±5 %) told to the model: the Allen–Cunneen factor (observed −8 … +23 %)', () => {
    // Observed at 50/70 %: -c 5 10/10 ms mean −7.7/−6.5 %, p95 +11.1/+13.5 %; -c 25 10/2 ms −1.1/−0.5 %,
    // +13.8/+22.6 %: fixed bursts leave a tail shorter than the exponential the model keeps.
    check(shape({ timeScv: 0 }), FIXED, 34_000, [-0.11, 0.02], [-0.02, 0.17]);
    check(shape({ threads: 25, jobWaitSec: 0.002, timeScv: 0 }), FIXED, 35_000, [-0.04, 0.02], [-0.02, 0.27]);
  });

  it('several processes: right per core, pessimistic where three share two cores', () => {
    // Observed at 50/70 %: P2 -c 5 16/4 ms mean −4.1/−3.7 %, p95 −7.4/+4.4 %; P3 -c 2 10/10 ms mean
    // +44.4/+11.5 %, p95 +20.5/−5.3 % (the waits are a few ms; the shared cores' stretch is a mean value).
    check(
      shape({ processes: 2, jobCpuSec: 0.016, jobWaitSec: 0.004 }),
      {},
      36_000,
      [-0.08, 0.02],
      [-0.1, 0.07],
    );
    check(shape({ processes: 3, threads: 2 }), {}, 37_000, [-0.02, 0.5], [-0.08, 0.25]);
  });
});

/**
 * Part 3: the saturation knee. Open-loop (arrival-rate) inbound activities in
 * steps around the ingress pool's capacity, sampling the ingress queue's
 * latency and backlog as Sidekiq's API reports them.
 */
import { SidekiqStats } from '../../world/testbed/sidekiq/stats.js';
import type { Bench } from './bench.js';
import { msBetween, nowNs, percentile, sleep, sortedCopy } from './clock.js';
import { type EndToEnd, endToEnd, type WarmActors } from './inbound.js';
import { judgeKnee, type KneeVerdict, type Sample, type StepRow, stepRow } from './kneeShape.js';
import { countStatuses, waitForCount, waitIdle } from './measure.js';
import {
  HEALTHY_QUEUE_LATENCY_SEC,
  IDLE_DEADLINE_MS,
  KNEE_CALIBRATION_ACTIVITIES,
  KNEE_MAX_REQUESTS,
  KNEE_PROBE_RANGE,
  KNEE_PROBE_SEC,
  KNEE_PROBES,
  KNEE_SAMPLE_MS,
  KNEE_SIDEKIQ,
  KNEE_STEP_SEC,
  KNEE_STEPS_PCT,
  OPEN_LOOP_MAX_IN_FLIGHT,
  PROCESS_DEADLINE_MS,
  sidekiqCommandText,
  sidekiqPoolText,
} from './parameters.js';
import type { PreparedBatch, RateStep, StepStats } from './protocol.js';
import { f, out, statusText } from './report.js';

interface Knee {
  bench: Bench;
  warm: WarmActors;
  /** Part 1's end-to-end figures with the -c 10 pool. */
  w: EndToEnd;
  /** Sidekiq's API on its own Redis connection, for sampling while the testbed is loaded. */
  sampler: SidekiqStats;
}

const ingressNow = (k: Knee) =>
  Promise.all([
    k.sampler.queueLatencySec('ingress'),
    k.sampler.queueSize('ingress'),
    countStatuses(k.bench.measureDb, k.warm.accountIds),
  ]);

/** Testbed B: the same database and Redis DB (warm actors kept), with KNEE_SIDEKIQ. */
async function startKneeTestbed(bench: Bench): Promise<SidekiqStats> {
  const running = await bench.testbed.replace(KNEE_SIDEKIQ);
  const samplerRedis = running.tb.newRedis();
  bench.cleanups.push(async () => samplerRedis.disconnect());
  await bench.world.call({ op: 'target', url: running.url });
  out(
    `testbed B (same database and Redis DB, warm actors kept): ${running.url}, web ${bench.base.webConcurrency} × ${bench.base.maxThreads} threads, DB_POOL ${bench.base.dbPool}, ${sidekiqPoolText(KNEE_SIDEKIQ)}`,
  );
  return new SidekiqStats(samplerRedis);
}

/** A closed-loop burst: the pool's drain rate, the start of the bisection. */
async function calibrate(k: Knee): Promise<number> {
  const cal = await endToEnd(k.bench, k.warm, KNEE_CALIBRATION_ACTIVITIES, 'cal');
  await waitIdle(k.bench.testbed.stats, IDLE_DEADLINE_MS);
  out(
    `burst of ${KNEE_CALIBRATION_ACTIVITIES} (closed loop): ${f(cal.processedPerSec)} activities/s end to end while the inbox is busy accepting, ` +
      `${f(cal.drainPerSec)}/s draining the backlog once it is quiet (part 1's -c 10 pool: ${f(k.w.processedPerSec)} and ${f(k.w.drainPerSec)}/s)`,
  );
  return Number.isFinite(cal.drainPerSec) ? cal.drainPerSec : cal.processedPerSec;
}

/** Offer `rate` for KNEE_PROBE_SEC: overloaded when the ingress latency at the end is unhealthy. */
async function probe(k: Knee, index: number, rate: number): Promise<boolean> {
  const { world, measureDb } = k.bench;
  const tag = `probe${index}`;
  await world.call({
    op: 'prepare',
    batch: tag,
    actors: k.warm.actors,
    count: Math.round(rate * KNEE_PROBE_SEC),
    tag,
  });
  await waitIdle(k.bench.testbed.stats, IDLE_DEADLINE_MS);
  const before = await countStatuses(measureDb, k.warm.accountIds);
  const t0 = nowNs();
  const [st] = await world.call<StepStats[]>({
    op: 'steps',
    batch: tag,
    steps: [{ ratePerSec: rate, durationSec: KNEE_PROBE_SEC }],
    maxInFlight: OPEN_LOOP_MAX_IN_FLIGHT,
  });
  const [latencySec, backlog, after] = await ingressNow(k);
  await world.call({ op: 'drop', batch: tag });
  const overloaded = latencySec > HEALTHY_QUEUE_LATENCY_SEC;
  out(
    `  probe ${index + 1}: ${f(rate)}/s offered (${st ? statusText(st) : 'nothing sent'}), ${f((after - before) / (msBetween(t0, nowNs()) / 1000))}/s processed, ` +
      `ingress latency ${f(latencySec, 3)} s, backlog ${backlog} → ${overloaded ? 'overloaded' : 'sustained'}`,
  );
  return overloaded;
}

/**
 * Neither burst figure is the rate this pool sustains under open-loop arrivals: the inbox's
 * work shares the event loop with the jobs, so the pool is slower while requests arrive than
 * while it drains a quiet backlog. Bisect for the highest sustainable arrival rate instead.
 */
async function bisectCapacity(k: Knee, drainRate: number): Promise<number> {
  let lo = KNEE_PROBE_RANGE[0] * drainRate;
  let hi = KNEE_PROBE_RANGE[1] * drainRate;
  out(
    `sustainable open-loop rate, bisected between ${f(lo)} and ${f(hi)}/s (${KNEE_PROBES} probes × ${KNEE_PROBE_SEC} s; overloaded = ingress latency > ${HEALTHY_QUEUE_LATENCY_SEC * 1000} ms at the probe's end):`,
  );
  for (let i = 0; i < KNEE_PROBES; i++) {
    const rate = (lo + hi) / 2;
    if (await probe(k, i, rate)) hi = rate;
    else lo = rate;
  }
  await waitIdle(k.bench.testbed.stats, IDLE_DEADLINE_MS);
  const vsPart1 = lo / k.w.processedPerSec;
  out(
    `  capacity of this pool: ${f(lo)} activities/s sustained, ${f(vsPart1, 2)}× part 1's end-to-end figure with -c 10` +
      (vsPart1 > 0.8
        ? ` (threads beyond these buy little: the testbed's jobs and inbox share one event loop, so its CPU, not Sidekiq's threads, bounds ingress)`
        : '') +
      `; the steps are percentages of it`,
  );
  return lo;
}

/** Sample the ingress queue every KNEE_SAMPLE_MS (bounded) until `running()` says stop. */
async function sampleIngress(
  k: Knee,
  samples: Sample[],
  baselineStored: number,
  running: () => boolean,
): Promise<void> {
  const t0 = nowNs();
  const maxSamples = Math.ceil(
    (KNEE_STEPS_PCT.length * KNEE_STEP_SEC * 1000 + IDLE_DEADLINE_MS + PROCESS_DEADLINE_MS) / KNEE_SAMPLE_MS,
  );
  for (let i = 0; running() && i < maxSamples; i++) {
    const [latencySec, backlog, stored] = await ingressNow(k);
    samples.push({ tNs: nowNs(), latencySec, backlog, stored: stored - baselineStored });
    const nextMs = (i + 1) * KNEE_SAMPLE_MS - msBetween(t0, nowNs());
    if (nextMs > 0) await sleep(nextMs);
  }
}

/** Pre-sign the steps' activities: the plan, bounded by KNEE_MAX_REQUESTS. */
async function prepareSteps(k: Knee, capacity: number): Promise<RateStep[]> {
  const plan = KNEE_STEPS_PCT.map((pct) => ({
    ratePerSec: (pct / 100) * capacity,
    durationSec: KNEE_STEP_SEC,
  }));
  const needed = plan.reduce((a, p) => a + Math.round(p.ratePerSec * p.durationSec), 0);
  if (needed > KNEE_MAX_REQUESTS)
    throw new Error(
      `the steps would need ${needed} requests (> ${KNEE_MAX_REQUESTS}): the pool is too fast for this bench's bounds`,
    );
  const prep = await k.bench.world.call<PreparedBatch>({
    op: 'prepare',
    batch: 'knee',
    actors: k.warm.actors,
    count: needed,
    tag: 'knee',
  });
  out(
    `${f(needed)} activities pre-signed in ${f(prep.signMs)} ms; ${KNEE_STEPS_PCT.length} steps × ${KNEE_STEP_SEC} s, constant arrival rate, at most ${OPEN_LOOP_MAX_IN_FLIGHT} in flight`,
  );
  return plan;
}

/** The steps back to back, the ingress queue sampled throughout and until its backlog is gone. */
async function runSteps(k: Knee, plan: RateStep[]): Promise<StepRow[]> {
  const samples: Sample[] = [];
  let sampling = true;
  const baselineStored = await countStatuses(k.bench.measureDb, k.warm.accountIds);
  const samplerLoop = sampleIngress(k, samples, baselineStored, () => sampling);
  const stepStats = await k.bench.world.call<StepStats[]>({
    op: 'steps',
    batch: 'knee',
    steps: plan,
    maxInFlight: OPEN_LOOP_MAX_IN_FLIGHT,
  });
  await k.bench.world.call({ op: 'drop', batch: 'knee' });
  const loadEnd = BigInt(stepStats[stepStats.length - 1]!.endNs);
  const drained = await waitForCount(
    () => k.sampler.queueSize('ingress').then((n) => (n === 0 ? 1 : 0)),
    1,
    IDLE_DEADLINE_MS,
  );
  sampling = false;
  await samplerLoop;
  out(
    '  offered  (% cap) | sent/s  dropped  inbox p95 | processed/s | ingress latency max / final | backlog max / final | backlog ↑ in step',
  );
  const rows = stepStats.map((s, i) => stepRow(s, KNEE_STEPS_PCT[i]!, samples));
  for (const [i, s] of stepStats.entries()) printStepRow(s, rows[i]!);
  const drainAfterMs = drained.atNs ? msBetween(loadEnd, drained.atNs) : Number.NaN;
  out(`  backlog after the last step drained in ${f(drainAfterMs)} ms`);
  return rows;
}

function printStepRow(s: StepStats, row: StepRow): void {
  const p95 = percentile(sortedCopy(s.latenciesMs), 95);
  const sentPerSec = s.sent / KNEE_STEP_SEC;
  const bad = s.errors > 0 || (s.byStatus['202'] ?? 0) !== s.sent ? `  [${statusText(s)}]` : '';
  out(
    `  ${f(row.offered).padStart(5)}/s (${String(row.pct).padStart(3)}%) | ${f(sentPerSec).padStart(6)} ${String(s.dropped).padStart(8)} ${f(p95, 1).padStart(8)} ms | ` +
      `${f(row.processed).padStart(11)} | ${f(row.maxLat, 3).padStart(8)} s / ${f(row.finalLat, 3)} s | ${String(row.maxBacklog).padStart(7)} / ${row.finalBacklog}` +
      ` | ${row.rises} of ${Math.max(0, row.backlogs.length - 1)} intervals${bad}`,
  );
}

export async function measureKnee(bench: Bench, warm: WarmActors, w: EndToEnd): Promise<void> {
  out();
  out('== 3. Saturation knee: open-loop step load on the inbox, ingress queue sampled every 0.5 s ==');
  const k: Knee = { bench, warm, w, sampler: await startKneeTestbed(bench) };
  const capacity = await bisectCapacity(k, await calibrate(k));
  const rows = await runSteps(k, await prepareSteps(k, capacity));
  const verdict = judgeKnee(rows);
  printVerdict(verdict, capacity);
  pushKneeSummary(bench, verdict, capacity / w.processedPerSec, capacity);
}

function printVerdict(v: KneeVerdict, capacity: number): void {
  out(
    `  below capacity (≤ 70 %): max ingress latency ${f(v.maxBelow, 3)} s → ${v.flat ? 'flat' : 'NOT flat'} (criterion: under ${HEALTHY_QUEUE_LATENCY_SEC * 1000} ms, Hachyderm's "healthy")`,
  );
  out(
    `  above capacity: final latency at 150 % is ${f(v.growth, 1)}× that at 50 % (${f(v.at150?.finalLat ?? Number.NaN, 3)} s vs ${f(v.at50?.finalLat ?? Number.NaN, 3)} s, ` +
      `the latter floored at ${v.floorSec * 1000} ms; criterion > 5×)`,
  );
  for (const d of v.overDetail) {
    out(
      `    backlog at ${d.r.pct} %, every ${KNEE_SAMPLE_MS} ms: ${d.r.backlogs.join(' ')}  → ${d.falls} falls` +
        `${d.falls ? ` (largest ${d.maxDip}, tolerance ${f(d.tolerance)})` : ''}`,
    );
  }
  out(
    `  backlog in the overloaded steps: ${v.strictly ? 'grows monotonically' : v.tolerably ? 'grows monotonically within the tolerance (small dips only)' : 'does NOT grow monotonically'}; ` +
      `step ends ${v.stepEnds.join(' → ')} ${v.endsRise ? '(rising)' : '(NOT rising)'}`,
  );
  const { peak, last } = v;
  out(
    peak === last
      ? `  processing rate highest in the last step: ${f(last.processed)}/s at ${last.pct} % offered (${f(last.processed / capacity, 2)}× the sustained rate), still short of the arrivals`
      : `  peak processing rate ${f(peak.processed)}/s at ${peak.pct} % offered; at ${last.pct} % it is ${f(last.processed)}/s (${f(last.processed / peak.processed, 2)}× the peak)` +
          (last.processed < 0.9 * peak.processed
            ? ': throughput falls under overload, because the inbox and the Sidekiq threads share one event loop (one core) in the testbed'
            : ''),
  );
  out(
    `  verdict: ${v.flat && v.grows ? 'latency stays flat below capacity and grows without bound above it' : 'the expected knee shape was NOT (fully) seen: see the criteria above'}`,
  );
}

function pushKneeSummary(bench: Bench, v: KneeVerdict, vsPart1: number, capacity: number): void {
  const { peak, last } = v;
  bench.summary.push(
    {
      what: `sustained inbound rate, ${sidekiqCommandText(KNEE_SIDEKIQ[0]!)}`,
      figure: `${f(capacity)} /s`,
      target: `${f(vsPart1, 2)}× the -c 10 pool's e2e`,
    },
    {
      what: 'knee: peak processing rate in the steps',
      figure: `${f(peak.processed)} /s at ${peak.pct} %`,
      target: `150 %: ${f(last.processed)} /s (${f(last.processed / peak.processed, 2)}×)`,
    },
    {
      what: 'knee: max ingress latency ≤ 70 % of capacity',
      figure: `${f(v.maxBelow, 3)} s`,
      target: `< 0.25 s: ${f(v.maxBelow / HEALTHY_QUEUE_LATENCY_SEC, 2)}× → ${v.flat ? 'flat' : 'not flat'}`,
    },
    {
      what: 'knee: final latency 150 % vs 50 %',
      figure: `${f(v.growth, 1)}×`,
      target: `> 5×: ${v.growth > 5 ? 'yes' : 'no'}; backlog ↑ monotonic: ${v.strictly ? 'yes' : v.tolerably ? 'within tolerance' : 'no'}`,
    },
  );
}

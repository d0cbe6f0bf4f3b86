/** The benchmark's printed table and its JSON file. */
import type { Reference } from './reference.js';
import type { Measured } from './run.js';
import { type Calibration, errorSummary, hostCosts, predict, type Prediction } from './predict.js';

export const out = (line = '') => console.log(line);
const n = (x: number | undefined, digits = 0) =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';

export interface Row {
  measured: Measured;
  reference: Reference;
}

const HEADER = [
  'configuration',
  'drain jobs/s',
  'naive bound/s',
  'drain/bound',
  'a priori/s',
  'error',
  'calibrated/s',
  'error ',
  'p95 @50% ms',
  'model @50%',
  'p95 @70% ms',
  'model @70%',
  'pool CPU ms/job',
  'pool cores',
  'others cores',
  'ruby loop ms',
  'load 1m',
];

/** p95 ± half the gap between its two halves' p95 (absent in runs recorded before the halves were). */
const measuredP95 = (l: Measured['latency'][number] | undefined) => {
  if (!l) return 'n/a';
  const halves = l.p95HalvesMs;
  return halves ? `${n(l.p95Ms, 1)} ±${n(Math.abs(halves[0] - halves[1]) / 2, 1)}` : n(l.p95Ms, 1);
};

const signedPercent = (e: number) => `${e >= 0 ? '+' : ''}${n(e * 100, 1)} %`;

function cells({ measured: m, reference: r }: Row, p: Prediction): string[] {
  return [
    m.configuration.name,
    n(m.drain.ratePerSec),
    n(m.naiveBoundPerSec),
    n(m.drain.ratePerSec / m.naiveBoundPerSec, 2),
    n(p.aprioriPerSec),
    signedPercent(p.aprioriError),
    n(p.calibratedPerSec),
    signedPercent(p.calibratedError),
    measuredP95(m.latency[0]),
    n(p.p95Ms[0], 1),
    measuredP95(m.latency[1]),
    n(p.p95Ms[1], 1),
    n(m.drain.poolCpuMsPerJob, 2),
    n(m.drain.cores.pool, 2),
    n(m.drain.cores.others, 2),
    n(r.rubyLoopCpuMs),
    n(r.loadAverage1m, 2),
  ];
}

export function printTable(rows: readonly Row[], calibration: Calibration): void {
  const { pickup } = calibration;
  const costs = hostCosts(calibration);
  const predictions = rows.map((r) => predict(r.measured, calibration, costs));
  const body = rows.map((r, i) => cells(r, predictions[i]!));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cs: string[]) =>
    `| ${cs.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  out();
  out(line(HEADER));
  out(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of body) out(line(r));
  out();
  const apriori = errorSummary(predictions.map((p) => p.aprioriError));
  const calibrated = errorSummary(predictions.map((p) => p.calibratedError));
  out(
    `drain predicted by src/model/sidekiqNetwork: a priori (nominal job CPU + framework CPU) error mean ${n(apriori.mean * 100, 1)} %, worst ${n(apriori.worst * 100, 1)} %; ` +
      `calibrated (CPU per job measured at the 50 % step) mean ${n(calibrated.mean * 100, 1)} %, worst ${n(calibrated.worst * 100, 1)} %`,
  );
  const p95 = p95Summary(rows, predictions);
  out(
    `p95 queue latency predicted by src/model/sidekiqLatency (calibrated): ${p95.within} of ${p95.steps} steps ` +
      `within ±30 %, mean absolute error ${n(p95.meanAbs * 100, 1)} %, worst ${n(p95.worst * 100, 1)} %`,
  );
  const { framework, platform } = calibration;
  out(
    `host costs: wakeup ${n(costs.wakeupSec * 1e3, 2)} ms per lock acquisition (${platform.wakeup.configuration.name}: ` +
      `${n(platform.wakeup.drain.ratePerSec)}/s), handoff ${n(costs.handoffSec * 1e3, 2)} ms when no core is free ` +
      `(${platform.handoff.configuration.name}: ${n(platform.handoff.drain.ratePerSec)}/s)`,
  );
  out(
    `framework CPU per job (${framework.recorded} no-op jobs, 1 process -c 5, ${n(framework.wallSec, 1)} s): ` +
      `Sidekiq ${n(framework.sidekiqCpuMsPerJob, 3)} ms, Redis ${n(framework.redisCpuMsPerJob, 3)} ms (pushes included)`,
  );
  out(
    `idle pickup (no-op jobs 100 ms apart, same pool): queue latency p50 ${n(pickup.p50Ms, 1)} ms, ` +
      `p95 ${n(pickup.p95Ms, 1)} ms (waking an idle pool; a busy one picks up faster)`,
  );
  out(
    'pool CPU ms/job: Sidekiq processes CPU per job over the drain (job burn + framework); pool cores / ' +
      'others cores: CPU of the Sidekiq processes / of everything but them, Redis and this benchmark, in ' +
      'cores, averaged over the drain',
  );
}

/** Relative error of each step's predicted p95 against the measured, over every step measured. */
function p95Summary(rows: readonly Row[], predictions: readonly Prediction[]) {
  const errors = rows.flatMap((r, i) =>
    r.measured.latency.map((l, step) => predictions[i]!.p95Ms[step]! / l.p95Ms - 1),
  );
  const worst = errors.reduce((a, e) => (Math.abs(e) > Math.abs(a) ? e : a), 0);
  return {
    steps: errors.length,
    within: errors.filter((e) => Math.abs(e) <= 0.3).length,
    meanAbs: errors.reduce((a, e) => a + Math.abs(e), 0) / errors.length,
    worst,
  };
}

/**
 * What a configuration failed to do: jobs that Sidekiq did not process or that failed, and jobs
 * whose records never arrived. A measurement with any of these is not ground truth.
 */
export function shortfalls(rows: readonly Row[]): string[] {
  return rows.flatMap(({ measured: m }) => {
    const missing: string[] = [];
    if (m.processed !== m.pushed || m.failed !== 0)
      missing.push(`pushed ${m.pushed}, processed ${m.processed}, failed ${m.failed}`);
    if (m.drain.recorded < m.drain.jobs)
      missing.push(`drain recorded ${m.drain.recorded} of ${m.drain.jobs} jobs`);
    for (const l of m.latency)
      if (l.recorded < l.jobs)
        missing.push(`latency at ${l.offeredPerSec.toFixed(0)}/s recorded ${l.recorded} of ${l.jobs} jobs`);
    return missing.map((what) => `${m.configuration.name}: ${what}`);
  });
}

/** Part 3's arithmetic: each step's figures from the samples, and whether the knee has the expected shape. */
import { msBetween } from './clock.js';
import { HEALTHY_QUEUE_LATENCY_SEC, KNEE_SAMPLE_MS } from './parameters.js';
import type { StepStats } from './protocol.js';

/** The ingress queue at one instant; `stored` counts statuses since the steps began. */
export interface Sample {
  tNs: bigint;
  latencySec: number;
  backlog: number;
  stored: number;
}

export interface StepRow {
  pct: number;
  offered: number;
  processed: number;
  maxLat: number;
  finalLat: number;
  maxBacklog: number;
  finalBacklog: number;
  backlogs: number[];
  rises: number;
  falls: number;
}

/** A step's figures from the samples taken inside it (and the last one before, for the processing rate). */
export function stepRow(s: StepStats, pct: number, samples: Sample[]): StepRow {
  const start = BigInt(s.startNs);
  const end = BigInt(s.endNs);
  const inStep = samples.filter((x) => x.tNs >= start && x.tNs <= end);
  const before = samples.filter((x) => x.tNs < start).pop();
  const first = before ?? inStep[0];
  const last = inStep[inStep.length - 1];
  const processed =
    first && last && last !== first
      ? (last.stored - first.stored) / (msBetween(first.tNs, last.tNs) / 1000)
      : Number.NaN;
  const backlogs = inStep.map((x) => x.backlog);
  let rises = 0;
  let falls = 0;
  for (let i = 1; i < backlogs.length; i++) {
    if (backlogs[i]! > backlogs[i - 1]!) rises++;
    else if (backlogs[i]! < backlogs[i - 1]!) falls++;
  }
  return {
    pct,
    offered: s.ratePerSec,
    processed,
    maxLat: Math.max(0, ...inStep.map((x) => x.latencySec)),
    finalLat: last?.latencySec ?? Number.NaN,
    maxBacklog: Math.max(0, ...backlogs),
    finalBacklog: last?.backlog ?? Number.NaN,
    backlogs,
    rises,
    falls,
  };
}

export interface OverloadedStep {
  r: StepRow;
  falls: number;
  maxDip: number;
  tolerance: number;
  strict: boolean;
  tolerant: boolean;
}

/**
 * Monotonic growth of the backlog inside an overloaded step, sample by sample. Strictly: no
 * sample below the one before. Within tolerance: no dip larger than 10 % of the arrivals of one
 * sampling interval (processing is not perfectly regular), the step ending above where it began.
 */
function overloadedStep(r: StepRow): OverloadedStep {
  const b = r.backlogs;
  let falls = 0;
  let maxDip = 0;
  for (let i = 1; i < b.length; i++) {
    if (b[i]! < b[i - 1]!) {
      falls++;
      maxDip = Math.max(maxDip, b[i - 1]! - b[i]!);
    }
  }
  const tolerance = Math.max(2, 0.1 * r.offered * (KNEE_SAMPLE_MS / 1000));
  const ends = b.length > 1 && b[b.length - 1]! > b[0]!;
  return { r, falls, maxDip, tolerance, strict: falls === 0 && ends, tolerant: maxDip <= tolerance && ends };
}

export interface KneeVerdict {
  maxBelow: number;
  /** Latency below capacity (≤ 70 %) stays under the healthy limit. */
  flat: boolean;
  at50: StepRow | undefined;
  at150: StepRow | undefined;
  /** Final latency at 150 % over that at 50 % (floored at floorSec). */
  growth: number;
  floorSec: number;
  overDetail: OverloadedStep[];
  strictly: boolean;
  tolerably: boolean;
  stepEnds: number[];
  endsRise: boolean;
  /** Latency grows without bound above capacity. */
  grows: boolean;
  peak: StepRow;
  last: StepRow;
}

export function judgeKnee(rows: StepRow[]): KneeVerdict {
  const below = rows.filter((r) => r.pct <= 70);
  const over = rows.filter((r) => r.pct > 100);
  const at50 = rows.find((r) => r.pct === 50);
  const at150 = rows.find((r) => r.pct === 150);
  const maxBelow = Math.max(0, ...below.map((r) => r.maxLat));
  const floorSec = 0.001;
  const growth = at50 && at150 ? at150.finalLat / Math.max(at50.finalLat, floorSec) : Number.NaN;
  const overDetail = over.map(overloadedStep);
  const strictly = overDetail.length > 0 && overDetail.every((d) => d.strict);
  const tolerably = overDetail.length > 0 && overDetail.every((d) => d.tolerant);
  const stepEnds = over.map((r) => r.finalBacklog);
  const endsRise = stepEnds.every((v, i) => i === 0 || v > stepEnds[i - 1]!);
  return {
    maxBelow,
    flat: maxBelow < HEALTHY_QUEUE_LATENCY_SEC,
    at50,
    at150,
    growth,
    floorSec,
    overDetail,
    strictly,
    tolerably,
    stepEnds,
    endsRise,
    grows: growth > 5 && (strictly || tolerably) && endsRise,
    peak: rows.reduce((a, r) => (r.processed > a.processed ? r : a), rows[0]!),
    last: rows[rows.length - 1]!,
  };
}

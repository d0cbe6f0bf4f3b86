/**
 * The client side of a comparison, per endpoint class: throughput, error and 429 shares, and p50, p95,
 * p99 of http_req_duration, each with its bootstrap interval and rank test.
 */
import { type BootstrapSettings, bootstrapChanges } from './bootstrapChange.js';
import type { Row } from './comparison.js';
import { rankTest, rankTestOnCounts } from './rankTest.js';
import type { StationWindow } from './runWindows.js';
import { type VerdictRule, verdictOf, type Worse } from './verdict.js';

/** A window's latencies as indices into the station's grid of distinct values, with their counts. */
interface SparseWindow {
  window: StationWindow;
  index: Int32Array;
  count: Float64Array;
}

const PERCENTILES = [50, 95, 99] as const;

/** The rows of one endpoint class present in both runs. */
export function clientRows(
  station: string,
  base: readonly StationWindow[],
  candidate: readonly StationWindow[],
  settings: BootstrapSettings & VerdictRule,
): Row[] {
  const grid = [...new Set([...base, ...candidate].flatMap((w) => [...w.latencyMs.keys()]))].sort(
    (a, b) => a - b,
  );
  const position = new Map(grid.map((v, i) => [v, i]));
  const sparse = (w: StationWindow): SparseWindow => ({
    window: w,
    index: Int32Array.from(w.latencyMs.keys(), (v) => position.get(v)!),
    count: Float64Array.from(w.latencyMs.values()),
  });
  const [b, c] = [base.map(sparse), candidate.map(sparse)];
  const dense = new Float64Array(grid.length);
  const statistics = (ws: readonly SparseWindow[]) => windowStatistics(ws, grid, dense);
  const changes = bootstrapChanges(b, c, statistics, settings);
  const latencyTest = rankTestOnCounts(countsOn(b, grid.length), countsOn(c, grid.length));
  const outcome = (part: (w: StationWindow) => number, whole: (w: StationWindow) => number) =>
    rankTestOnCounts(outcomeCounts(base, part, whole), outcomeCounts(candidate, part, whole));
  const rate = (ws: readonly StationWindow[]) => ws.map((w) => w.requests / w.durationSec);
  const tests: Record<string, [Worse, Row['unit'], number | null, Row['rankedOver']]> = {
    throughput: ['lower', 'req/s', rankTest(rate(base), rate(candidate))?.pValue ?? null, 'windows'],
    'error share': [
      'higher',
      'share',
      outcome(
        (w) => w.failed,
        (w) => w.checked,
      )?.pValue ?? null,
      'requests',
    ],
    '429 share': [
      'higher',
      'share',
      outcome(
        (w) => w.status429,
        (w) => w.requests,
      )?.pValue ?? null,
      'requests',
    ],
  };
  for (const p of PERCENTILES) tests[`p${p}`] = ['higher', 'ms', latencyTest?.pValue ?? null, 'requests'];
  return Object.entries(tests).flatMap(([metric, [worse, unit, pValue, rankedOver]]) => {
    const change = changes[metric];
    if (!change) return [];
    const verdict = verdictOf(change, worse, pValue, settings);
    return [
      {
        section: 'endpoint class',
        subject: station,
        metric,
        unit,
        worse,
        change,
        pValue,
        rankedOver,
        verdict,
      },
    ];
  });
}

/** Throughput, shares and percentiles of a set of windows (NaN where nothing was counted). */
function windowStatistics(ws: readonly SparseWindow[], grid: readonly number[], dense: Float64Array) {
  dense.fill(0);
  let [requests, seconds, checked, failed, limited, total] = [0, 0, 0, 0, 0, 0];
  for (const { window: w, index, count } of ws) {
    requests += w.requests;
    seconds += w.durationSec;
    checked += w.checked;
    failed += w.failed;
    limited += w.status429;
    for (let i = 0; i < index.length; i++) {
      dense[index[i]!]! += count[i]!;
      total += count[i]!;
    }
  }
  const out: Record<string, number> = {
    throughput: seconds > 0 ? requests / seconds : Number.NaN,
    'error share': checked > 0 ? failed / checked : Number.NaN,
    '429 share': requests > 0 ? limited / requests : Number.NaN,
  };
  // Nearest rank, as HdrHistogram's getValueAtPercentile: the smallest value with p % at or below it.
  let seen = 0;
  let next = 0;
  for (let i = 0; i < grid.length && next < PERCENTILES.length; i++) {
    seen += dense[i]!;
    while (next < PERCENTILES.length && seen >= (PERCENTILES[next]! / 100) * total && total > 0) {
      out[`p${PERCENTILES[next]}`] = grid[i]!;
      next++;
    }
  }
  for (const p of PERCENTILES) out[`p${p}`] ??= Number.NaN;
  return out;
}

/** A run's latencies counted on the grid. */
function countsOn(ws: readonly SparseWindow[], size: number): Float64Array {
  const out = new Float64Array(size);
  for (const { index, count } of ws) for (let i = 0; i < index.length; i++) out[index[i]!]! += count[i]!;
  return out;
}

/** Requests as 0 (fine) or 1 (failed, rate limited…) counted: the rank test on a share. */
function outcomeCounts(
  ws: readonly StationWindow[],
  part: (w: StationWindow) => number,
  whole: (w: StationWindow) => number,
): [number, number] {
  const [hit, all] = ws.reduce(([h, a], w) => [h + part(w), a + whole(w)], [0, 0]);
  return [all - hit, hit];
}

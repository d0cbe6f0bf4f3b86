/**
 * Part 2: home timeline reads per second at p95 under READ_P95_TARGET_MS, closed-loop readers at rising
 * concurrency.
 */
import type { Bench } from './bench.js';
import { percentile, sortedCopy } from './clock.js';
import { READ_P95_TARGET_MS, READER_LEVEL_MS, READER_LEVELS } from './parameters.js';
import { perSecWithStatus, type SendStats } from './protocol.js';
import { f, out, statusText } from './report.js';
import type { Seeded } from './seed.js';

const HOME = '/api/v1/timelines/home';

interface Level {
  c: number;
  rps: number;
  p95: number;
}

/** One authenticated GET first: the feed must answer 200 with a full page of 20. */
async function probeHomeTimeline(url: string, token: string): Promise<void> {
  const probe = await fetch(`${url}${HOME}`, { headers: { Authorization: `Bearer ${token}` } });
  const body = (await probe.json()) as unknown[];
  if (probe.status !== 200 || !Array.isArray(body) || body.length !== 20) {
    throw new Error(
      `home timeline probe answered ${probe.status} with ${Array.isArray(body) ? body.length : 'no'} statuses (expected 200 with 20)`,
    );
  }
  out(
    `probe: 200 with ${body.length} statuses. concurrency → reads/s, p50 / p95 / p99 ms (p95 / ${READ_P95_TARGET_MS} ms)`,
  );
}

/** `c` readers for READER_LEVEL_MS: the level's figures when every read was a 200. */
async function readLevel(bench: Bench, seeded: Seeded, c: number): Promise<Level | undefined> {
  const tokens = seeded.locals.slice(0, c).map((l) => l.token);
  const r = await bench.world.call<SendStats>({
    op: 'readers',
    path: HOME,
    tokens,
    durationMs: READER_LEVEL_MS,
  });
  const lat = sortedCopy(r.latenciesMs);
  const rps = perSecWithStatus(r, '200');
  const [p50, p95, p99] = [percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)];
  const ok = r.errors === 0 && (r.byStatus['200'] ?? 0) === r.sent;
  out(
    `  ${String(c).padStart(2)} readers: ${f(rps).padStart(5)} reads/s, ${f(p50, 1)} / ${f(p95, 1)} / ${f(p99, 1)} ms (${f(p95 / READ_P95_TARGET_MS, 2)}×)` +
      `${ok ? '' : `  [${statusText(r)}]`}`,
  );
  return ok ? { c, rps, p95 } : undefined;
}

export async function measureHomeTimeline(bench: Bench, seeded: Seeded): Promise<void> {
  out();
  out(
    `== 2. Home timeline reads (GET ${HOME}, 20 statuses, one token per reader, closed loop, ${READER_LEVEL_MS / 1000} s per level) ==`,
  );
  await probeHomeTimeline(bench.testbed.current.url, seeded.locals[0]!.token);
  let best: Level | undefined;
  for (const c of READER_LEVELS) {
    const level = await readLevel(bench, seeded, c);
    if (level && level.p95 < READ_P95_TARGET_MS && (!best || level.rps > best.rps)) best = level;
  }
  if (best) {
    out(
      `  highest throughput with p95 < ${READ_P95_TARGET_MS} ms: ${f(best.rps)} reads/s at ${best.c} readers (p95 ${f(best.p95, 1)} ms = ${f(best.p95 / READ_P95_TARGET_MS, 2)}× the limit)`,
    );
  } else out(`  no level kept p95 under ${READ_P95_TARGET_MS} ms`);
  bench.summary.push({
    what: `home timeline reads at p95 < ${READ_P95_TARGET_MS} ms`,
    figure: best ? `${f(best.rps)} reads/s (${best.c} readers)` : 'none',
    target: best
      ? `p95 ${f(best.p95, 1)} ms = ${f(best.p95 / READ_P95_TARGET_MS, 2)}× the limit`
      : `p95 < ${READ_P95_TARGET_MS} ms missed`,
  });
}

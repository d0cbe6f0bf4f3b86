import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../../src/shared/random.js';
import { DEFAULT_SIDEKIQ } from '../../../../world/testbed/config.js';
import {
  expandQueues,
  fetchOrder,
  maxRetryAttempts,
  retryDelaySec,
  rubyTruthy,
  utcDate,
} from '../../../../world/testbed/sidekiq/layout.js';

/** A seeded generator so the distribution check is exact run to run. */
const seeded = (seed: number) => {
  const rng = seededRng(seed);
  return () => rng.next();
};

describe('Sidekiq layout rules', () => {
  it('expands queues by weight as CLI#parse_queue and draws a fresh uniq order per fetch', () => {
    const e = expandQueues([
      { name: 'default', weight: 8 },
      { name: 'push', weight: 6 },
      { name: 'pull', weight: 0 },
    ]);
    expect(e.strict).toBe(false);
    expect(e.list.filter((q) => q === 'default')).toHaveLength(8);
    expect(e.list.filter((q) => q === 'pull')).toHaveLength(1); // [weight, 1].max
    const order = fetchOrder(e, seeded(1));
    expect([...order].sort()).toEqual(['default', 'pull', 'push']);

    // No weights at all: strict, declared order every time.
    const strict = expandQueues([
      { name: 'b', weight: 0 },
      { name: 'a', weight: 0 },
    ]);
    expect(strict.strict).toBe(true);
    expect(fetchOrder(strict, seeded(2))).toEqual(['b', 'a']);
  });

  it("puts each of Mastodon's queues first with probability weight / total weight", () => {
    const queues = DEFAULT_SIDEKIQ[0]!.queues; // default 8, push 6, ingress 4, mailers 2, pull 1, scheduler 1
    const total = queues.reduce((a, q) => a + q.weight, 0);
    const e = expandQueues(queues);
    const rnd = seeded(42);
    const n = 44_000;
    const first = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const q = fetchOrder(e, rnd)[0]!;
      first.set(q, (first.get(q) ?? 0) + 1);
    }
    for (const q of queues) {
      const p = q.weight / total;
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(first.get(q.name)! / n - p), q.name).toBeLessThan(5 * sd);
    }
  });

  it("computes Sidekiq's retry delay and attempts", () => {
    expect(retryDelaySec(0, undefined, () => 0)).toBe(15);
    expect(retryDelaySec(3, undefined, () => 0)).toBe(96);
    // rand(10) * (count + 1): at most 9 × (count + 1)
    expect(retryDelaySec(2, undefined, (c) => 9 * (c + 1))).toBe(16 + 15 + 27);
    // A class's retryIn is the whole delay when positive; 0 or less falls back to the default.
    expect(retryDelaySec(5, 1.5)).toBe(1.5);
    expect(retryDelaySec(0, 0, () => 0)).toBe(15);
    expect(maxRetryAttempts(true)).toBe(25);
    expect(maxRetryAttempts(16)).toBe(16);
    expect(maxRetryAttempts(0)).toBe(0);
    expect(rubyTruthy(0)).toBe(true);
    expect(rubyTruthy(false)).toBe(false);
    expect(rubyTruthy(undefined)).toBe(false);
    expect(utcDate(Date.UTC(2025, 11, 31, 23, 59, 59))).toBe('2025-12-31');
  });
});

/** What the main thread measures on the testbed: stored statuses, remote accounts, Sidekiq idleness. */
import type pg from 'pg';
import type { Testbed } from '../../world/testbed/context.js';
import type { SidekiqStats } from '../../world/testbed/sidekiq/stats.js';
import { deadlineAfterMs, msBetween, nowNs, sleep } from './clock.js';
import { type ActorRef, actorUri } from './protocol.js';

/** Measurement queries go through their own connections, not the testbed's DB_POOL. */
export async function countStatuses(db: pg.Pool, accountIds: string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM statuses WHERE account_id = ANY($1::bigint[])',
    [accountIds],
  );
  return Number(rows[0]!.n);
}

export async function remoteAccountIds(tb: Testbed, actors: ActorRef[]): Promise<string[]> {
  const { rows } = await tb.db.query<{ id: string }>('SELECT id FROM accounts WHERE uri = ANY($1::text[])', [
    actors.map(actorUri),
  ]);
  return rows.map((r) => r.id);
}

/**
 * Poll until `count` reaches `target` (every 20 ms, bounded): the hrtime it was first seen there, or
 * undefined.
 */
export async function waitForCount(
  count: () => Promise<number>,
  target: number,
  deadlineMs: number,
): Promise<{ atNs?: bigint; last: number }> {
  const deadline = deadlineAfterMs(deadlineMs);
  let last = 0;
  for (let i = 0; i < deadlineMs / 20 + 1 && nowNs() < deadline; i++) {
    last = await count();
    if (last >= target) return { atNs: nowNs(), last };
    await sleep(20);
  }
  return { last };
}

/**
 * Idle: every queue empty, nothing scheduled to retry, and stat:processed
 * unchanged for 300 ms (Sidekiq's `busy` is only refreshed at the 5 s
 * heartbeat, too coarse here). Bounded; returns the ms it took or undefined.
 */
export async function waitIdle(stats: SidekiqStats, deadlineMs: number): Promise<number | undefined> {
  const t0 = nowNs();
  let lastProcessed = -1;
  let stableSince = nowNs();
  for (let i = 0; i < deadlineMs / 50 + 1 && msBetween(t0, nowNs()) < deadlineMs; i++) {
    const [enqueued, retries, processed] = await Promise.all([
      stats.enqueued(),
      stats.retrySize(),
      stats.processed(),
    ]);
    if (processed !== lastProcessed) {
      lastProcessed = processed;
      stableSince = nowNs();
    }
    if (enqueued === 0 && retries === 0 && msBetween(stableSince, nowNs()) >= 300)
      return msBetween(t0, nowNs());
    await sleep(50);
  }
  return undefined;
}

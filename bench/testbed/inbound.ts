/**
 * Part 1: inbound activities end to end (shared inbox → ActivityPub::ProcessingWorker
 * → statuses row) from warm actors, and the cost of a cold actor.
 */
import { followMany } from '../../world/testbed/accounts.js';
import type { Bench } from './bench.js';
import { msBetween, nowNs, percentile, sortedCopy } from './clock.js';
import { countStatuses, remoteAccountIds, waitForCount, waitIdle } from './measure.js';
import {
  BUSY_RELAY_POSTS_PER_SEC,
  COLD_ACTIVITIES,
  IDLE_DEADLINE_MS,
  INBOX_CONCURRENCY,
  LOCAL_FOLLOWERS_PER_REMOTE,
  PROCESS_DEADLINE_MS,
  WARM_ACTIVITIES,
  WARM_ACTORS,
  WARM_HOSTS,
} from './parameters.js';
import { type ActorRef, type PreparedBatch, perSecWithStatus, type SendStats } from './protocol.js';
import { f, out, statusText } from './report.js';
import type { Seeded } from './seed.js';

export interface WarmActors {
  actors: ActorRef[];
  accountIds: string[];
}

export interface EndToEnd {
  sent: SendStats;
  acceptedPerSec: number;
  processedPerSec: number;
  /**
   * Processing rate once the last POST was answered (the backlog draining with the inbox quiet): the pool's
   * capacity without the inbox's competition for the event loop.
   */
  drainPerSec: number;
  storedWhenQuiet: number;
  processed: number;
  elapsedMs: number;
  p50: number;
  p95: number;
  p99: number;
  signMs: number;
}

/** Sign `count` Creates from `actors` in the remote world and POST them closed loop: what was sent. */
async function sendBatch(
  bench: Bench,
  actors: ActorRef[],
  count: number,
  tag: string,
  concurrency: number,
): Promise<{ prep: PreparedBatch; sent: SendStats }> {
  const { world } = bench;
  const prep = await world.call<PreparedBatch>({ op: 'prepare', batch: tag, actors, count, tag });
  const sent = await world.call<SendStats>({ op: 'closed', batch: tag, concurrency });
  await world.call({ op: 'drop', batch: tag });
  return { prep, sent };
}

/**
 * Sign `count` Creates from `actors`, POST them with INBOX_CONCURRENCY, and
 * time from the first POST until `count` statuses of those actors exist
 * beyond the baseline.
 */
export async function endToEnd(
  bench: Bench,
  warm: WarmActors,
  count: number,
  tag: string,
): Promise<EndToEnd> {
  const { world, measureDb } = bench;
  const stored = () => countStatuses(measureDb, warm.accountIds);
  const prep = await world.call<PreparedBatch>({
    op: 'prepare',
    batch: tag,
    actors: warm.actors,
    count,
    tag,
  });
  const baseline = await stored();
  const waiting = waitForCount(stored, baseline + count, PROCESS_DEADLINE_MS);
  const sent = await world.call<SendStats>({ op: 'closed', batch: tag, concurrency: INBOX_CONCURRENCY });
  const quietNs = nowNs();
  const storedWhenQuiet = (await stored()) - baseline;
  const done = await waiting;
  await world.call({ op: 'drop', batch: tag });
  const start = BigInt(sent.startNs);
  const processed = done.last - baseline;
  const endNs = done.atNs ?? nowNs();
  const lat = sortedCopy(sent.latenciesMs);
  const tailMs = msBetween(quietNs, endNs);
  return {
    sent,
    drainPerSec: tailMs > 200 ? (processed - storedWhenQuiet) / (tailMs / 1000) : Number.NaN,
    storedWhenQuiet,
    acceptedPerSec: perSecWithStatus(sent, '202'),
    processedPerSec: processed / (msBetween(start, endNs) / 1000),
    processed,
    elapsedMs: msBetween(start, endNs),
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    signMs: prep.signMs,
  };
}

/** One activity from each warm actor (their keys fetched then), and local followers for each. */
export async function warmUp(bench: Bench, seeded: Seeded): Promise<WarmActors> {
  const tb = bench.testbed.current.tb;
  const actors: ActorRef[] = Array.from({ length: WARM_ACTORS }, (_, i) => ({
    host: `w${(i % WARM_HOSTS) + 1}.remote.test`,
    user: `warm${i + 1}`,
  }));
  const t = nowNs();
  const { sent } = await sendBatch(bench, actors, actors.length, 'warmup', actors.length);
  const accountIds = await remoteAccountIds(tb, actors);
  if ((sent.byStatus['202'] ?? 0) !== actors.length || accountIds.length !== actors.length) {
    throw new Error(
      `warm-up failed: ${statusText(sent)}; ${accountIds.length}/${actors.length} remote accounts stored`,
    );
  }
  const followPairs: [string, string][] = [];
  accountIds.forEach((id, i) => {
    for (let k = 0; k < LOCAL_FOLLOWERS_PER_REMOTE; k++)
      followPairs.push([
        seeded.locals[(i * LOCAL_FOLLOWERS_PER_REMOTE + k) % seeded.locals.length]!.accountId,
        id,
      ]);
  });
  await followMany(tb, followPairs);
  await waitIdle(bench.testbed.stats, IDLE_DEADLINE_MS);
  out(
    `warm-up: ${actors.length} actors on ${WARM_HOSTS} hosts sent one activity each; their keys were fetched then (${f(msBetween(t, nowNs()))} ms), ` +
      `so what follows measures the warm path. Each is followed by ${LOCAL_FOLLOWERS_PER_REMOTE} local accounts (fan-out: DistributionWorker + ${LOCAL_FOLLOWERS_PER_REMOTE} FeedInsertWorker per status).`,
  );
  return { actors, accountIds };
}

/** WARM_ACTIVITIES from the warm actors, end to end, then until every queue (fan-out included) is empty. */
export async function measureWarm(bench: Bench, warm: WarmActors): Promise<EndToEnd> {
  const stats = bench.testbed.stats;
  const failedBefore = await stats.failed();
  const processedBefore = await stats.processed();
  const w = await endToEnd(bench, warm, WARM_ACTIVITIES, 'warm');
  const drainMs = await waitIdle(stats, IDLE_DEADLINE_MS);
  const allQueuesMs = drainMs === undefined ? Number.NaN : w.elapsedMs + drainMs;
  const jobsRun = (await stats.processed()) - processedBefore;
  const jobsFailed = (await stats.failed()) - failedBefore;
  out(
    `${f(WARM_ACTIVITIES)} signed Create(Note) activities from ${warm.actors.length} warm actors, ${INBOX_CONCURRENCY} concurrent POSTs (pre-signed in ${f(w.signMs)} ms, outside the window): ${statusText(w.sent)}`,
  );
  out(
    `  accepted at the inbox: ${f(w.acceptedPerSec)} activities/s (202s per second, first POST → last 202)`,
  );
  out(
    `  processed end to end: ${f(w.processedPerSec)} activities/s (${f(w.processed)} statuses stored ${f(w.elapsedMs)} ms after the first POST` +
      `${w.processed < WARM_ACTIVITIES ? `; ONLY ${w.processed} of ${WARM_ACTIVITIES} within ${PROCESS_DEADLINE_MS / 1000} s` : ''})`,
  );
  out(
    `  processed / accepted: ${f(w.processedPerSec / w.acceptedPerSec, 2)} (below 1: the ingress queue absorbs the difference)`,
  );
  out(
    `  once the last POST was answered (${f(w.storedWhenQuiet)} stored by then), the backlog drained at ${f(w.drainPerSec)} activities/s: the pool without the inbox competing for the same event loop`,
  );
  out(
    `  all queues empty (fan-out included) after ${f(allQueuesMs)} ms: ${f(jobsRun)} jobs, ${jobsFailed} failed, ` +
      `${f(jobsRun / (allQueuesMs / 1000))} jobs/s`,
  );
  out(`  inbox response time: p50 ${f(w.p50, 1)} ms, p95 ${f(w.p95, 1)} ms, p99 ${f(w.p99, 1)} ms`);
  out(
    `  no numeric target was set for this figure; a busy relay brings ~${BUSY_RELAY_POSTS_PER_SEC} posts/s: ${f(w.processedPerSec / BUSY_RELAY_POSTS_PER_SEC)}× that`,
  );
  bench.summary.push(
    { what: 'inbound, warm actors: accepted at the inbox', figure: `${f(w.acceptedPerSec)} /s`, target: '' },
    {
      what: 'inbound, warm actors: processed end to end',
      figure: `${f(w.processedPerSec)} /s`,
      target: `${f(w.processedPerSec / BUSY_RELAY_POSTS_PER_SEC)}× a busy relay (3/s)`,
    },
    {
      what: 'inbound, warm: backlog drain, inbox quiet',
      figure: `${f(w.drainPerSec)} /s`,
      target: `${f(w.drainPerSec / w.processedPerSec, 2)}× end to end`,
    },
    {
      what: 'inbox response time, warm (p50 / p95)',
      figure: `${f(w.p50, 1)} / ${f(w.p95, 1)} ms`,
      target: '',
    },
  );
  return w;
}

/** COLD_ACTIVITIES each from a new actor: the synchronous fetch chain inside the inbox request. */
export async function measureCold(bench: Bench, w: EndToEnd): Promise<void> {
  const { world } = bench;
  const cold: ActorRef[] = Array.from({ length: COLD_ACTIVITIES }, (_, i) => ({
    host: `c${(i % 10) + 1}.remote.test`,
    user: `cold${i + 1}`,
  }));
  const servedBefore = await world.call<Record<string, number>>({ op: 'remoteStats' });
  const { prep, sent } = await sendBatch(bench, cold, cold.length, 'cold', INBOX_CONCURRENCY);
  const servedAfter = await world.call<Record<string, number>>({ op: 'remoteStats' });
  const coldStored = (await remoteAccountIds(bench.testbed.current.tb, cold)).length;
  const lat = sortedCopy(sent.latenciesMs);
  const coldPerSec = perSecWithStatus(sent, '202');
  const [p50, p95] = [percentile(lat, 50), percentile(lat, 95)];
  const perCold = (k: string) => ((servedAfter[k] ?? 0) - (servedBefore[k] ?? 0)) / COLD_ACTIVITIES;
  out(
    `${COLD_ACTIVITIES} activities each from a NEW actor (${INBOX_CONCURRENCY} concurrent, pre-signed in ${f(prep.signMs)} ms): ${statusText(sent)}; ${coldStored} accounts stored`,
  );
  out(
    `  synchronous fetch chain per cold activity, as served by the remote: ${f(perCold('actor'), 1)} actor GETs, ${f(perCold('webfinger'), 1)} WebFinger, ` +
      `${f(perCold('collection'), 1)} collections, ${f(perCold('image'), 1)} images (avatar + header, resized)`,
  );
  out(`  cold: ${f(coldPerSec)} requests/s, p50 ${f(p50, 1)} ms, p95 ${f(p95, 1)} ms`);
  out(
    `  cold/warm cost: ${f(w.acceptedPerSec / coldPerSec, 1)}× fewer requests/s at the same concurrency, ${f(p50 / w.p50, 1)}× the p50, ${f(p95 / w.p95, 1)}× the p95`,
  );
  bench.summary.push({
    what: 'inbound, cold actors (new actor each)',
    figure: `${f(coldPerSec)} req/s, p95 ${f(p95, 1)} ms`,
    target: `cold/warm: ${f(w.acceptedPerSec / coldPerSec, 1)}× per request`,
  });
  await waitIdle(bench.testbed.stats, IDLE_DEADLINE_MS);
}

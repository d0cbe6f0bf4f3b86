/**
 * Testbed benchmark (not a timed test): what one 2-core machine running the
 * testbed sustains, printed as figures and ratios. Run with
 * `npm run bench:testbed` (needs the local PostgreSQL and Redis; exit code 2
 * when they cannot be reached).
 *
 * 1. Inbound activities end to end: signed Create(Note)s from a few warm
 *    remote actors POSTed to the shared inbox, from the first POST until the
 *    last one is stored; plus the cold-actor cost (a new actor per activity,
 *    so the inbox fetches key, actor, WebFinger, collections, avatar and
 *    header synchronously).
 * 2. Home timeline reads per second at p95 under 100 ms: closed-loop readers
 *    at increasing concurrency, one token each.
 * 3. The saturation knee: open-loop (arrival-rate) inbound activities in
 *    steps around the ingress pool's capacity, sampling the ingress queue's
 *    latency and backlog as Sidekiq's API reports them.
 *
 * Shape: the testbed (web + Sidekiq, one event loop, as the testbed is built)
 * runs on the main thread; a worker thread is "the remote world": it serves
 * the *.remote.test actors (documents, keys, WebFinger, collections, images)
 * and generates the load, so signing and the HTTP client do not share the
 * testbed's event loop. Requests are signed before each timed window
 * (signatures stay valid for 65 min), so the windows measure the testbed.
 * Everything binds to 127.0.0.1. Every loop is bounded in count and time.
 *
 * Layout: testbed/inbound.ts, timeline.ts and knee.ts are the three parts;
 * testbed/remote/ is the worker thread; parameters.ts holds every size and
 * deadline.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { DEFAULT_SIDEKIQ } from '../world/testbed/config.js';
import { TestbedStartupError } from '../world/testbed/server.js';
import { type Bench, BenchTestbed } from './testbed/bench.js';
import { msBetween, nowNs } from './testbed/clock.js';
import { measureCold, measureWarm, warmUp } from './testbed/inbound.js';
import { measureKnee } from './testbed/knee.js';
import { FOLLOWS_PER_ACCOUNT, sidekiqPoolText, WHOLE_BENCH_DEADLINE_MS } from './testbed/parameters.js';
import { f, loadAverage, out, printSummary } from './testbed/report.js';
import { type Seeded, seedLocal } from './testbed/seed.js';
import { Cleanups, prepareSurroundings, preflight } from './testbed/setup.js';
import { measureHomeTimeline } from './testbed/timeline.js';

/** The surroundings and testbed A (Mastodon's default Sidekiq pool), described. */
async function setUp(cleanups: Cleanups): Promise<Bench> {
  const s = await prepareSurroundings(cleanups);
  const testbed = new BenchTestbed(s.base);
  const running = await testbed.start(DEFAULT_SIDEKIQ, 0);
  cleanups.push(() => testbed.close());
  const measureDb = new pg.Pool({ connectionString: s.base.databaseUrl, max: 2 });
  measureDb.on('error', () => undefined);
  cleanups.push(() => measureDb.end());
  await s.world.call({ op: 'target', url: running.url });
  out(
    `testbed A: ${running.url}, database ${s.dbName}, Redis DB ${s.redisDbIndex}, web ${s.base.webConcurrency} × ${s.base.maxThreads} threads, DB_POOL ${s.base.dbPool}, rate limits off, ` +
      sidekiqPoolText(DEFAULT_SIDEKIQ),
  );
  out(
    `remote world (worker thread): *.remote.test on 127.0.0.1:${s.started.port}, 8 shared RSA-2048 keys, avatar ${f(s.started.avatarBytes / 1024)} KB, header ${f(s.started.headerBytes / 1024)} KB JPEG`,
  );
  return { ...s, testbed, measureDb, cleanups, summary: [] };
}

async function seed(bench: Bench): Promise<Seeded> {
  const t = nowNs();
  const seeded = await seedLocal(bench.testbed.current.tb);
  out(
    `seeded: ${seeded.locals.length} local accounts with tokens, ${seeded.locals.length * FOLLOWS_PER_ACCOUNT} follows, ${f(seeded.statuses)} statuses, ` +
      `${f(seeded.feedEntries)} home-feed entries (ZADD of real ids, ~${f(seeded.feedEntries / seeded.locals.length)} per feed) in ${f(msBetween(t, nowNs()))} ms`,
  );
  return seeded;
}

async function runParts(cleanups: Cleanups): Promise<void> {
  const bench = await setUp(cleanups);
  const seeded = await seed(bench);
  out();
  out(
    '== 1. Inbound activities, end to end (shared inbox → ActivityPub::ProcessingWorker → statuses row) ==',
  );
  const warm = await warmUp(bench, seeded);
  const w = await measureWarm(bench, warm);
  await measureCold(bench, w);
  await measureHomeTimeline(bench, seeded);
  await measureKnee(bench, warm, w);
  printSummary(bench.summary);
}

/** Clean up on SIGINT/SIGTERM and after WHOLE_BENCH_DEADLINE_MS; returns the function that stops guarding. */
function guardProcess(cleanups: Cleanups): () => void {
  const onSignal = () => {
    console.error('bench:testbed: interrupted, cleaning up');
    void cleanups.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    console.error(`bench:testbed: still running after ${WHOLE_BENCH_DEADLINE_MS / 60_000} min, giving up`);
    void cleanups.run().finally(() => process.exit(1));
  }, WHOLE_BENCH_DEADLINE_MS);
  watchdog.unref();
  return () => {
    clearTimeout(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function main(): Promise<number> {
  const benchStart = nowNs();
  const problem = await preflight();
  if (problem) {
    console.error(`bench:testbed: ${problem}`);
    return 2;
  }
  out(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadAverage()} (other processes on this machine perturb the figures)`,
  );
  const cleanups = new Cleanups();
  const unguard = guardProcess(cleanups);
  try {
    await runParts(cleanups);
    out(
      `whole bench: ${f(msBetween(benchStart, nowNs()) / 1000, 1)} s (target < ~180 s); load average now ${loadAverage()}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof TestbedStartupError) {
      console.error(`bench:testbed: ${e.message}`);
      return 2;
    }
    console.error(`bench:testbed failed: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    unguard();
    await cleanups.run();
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`bench:testbed failed: ${e.message}`);
    process.exit(1);
  },
);

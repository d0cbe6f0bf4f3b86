import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalAccount } from '../../../world/testbed/accounts.js';
import { SidekiqStats } from '../../../world/testbed/sidekiq/stats.js';
import { newRsaKeyPair } from '../../../world/keys.js';
import { noteCreate, postSigned, type RemoteActor } from '../../support/activitypub.js';
import { GateServer } from '../../support/gate.js';
import { unit } from '../../support/sidekiq.js';
import { startTestTestbed, type TestbedFixture } from '../../support/testbed.js';
import { alive, waitFor } from '../../support/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET on a connection of its own (no keep-alive pool that could hold a socket to a dead worker). */
function getFresh(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, timeout: 5_000 }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

const pidsOf = (fx: TestbedFixture, role: string) =>
  fx.processes.filter((p) => p.role === role).map((p) => p.pid);

/** A remote actor on the gate's hosts: its key is fetched, and held, when it signs an inbox POST. */
async function gatedActor(): Promise<RemoteActor> {
  const uri = 'https://a.gate.test/users/held';
  return {
    host: 'a.gate.test',
    username: 'held',
    uri,
    keyId: `${uri}#main-key`,
    inbox: `${uri}/inbox`,
    keys: await newRsaKeyPair(),
    document: {},
  };
}

describe('the testbed as the processes of a Mastodon deployment', () => {
  const gate = new GateServer();
  let fx: TestbedFixture;
  beforeAll(async () => {
    await gate.start();
    fx = await startTestTestbed({
      webConcurrency: 2,
      sidekiq: [
        unit(2, [['push', 1]], 2),
        unit(1, [
          ['default', 8],
          ['ingress', 4],
          ['mailers', 2],
          ['pull', 1],
          ['scheduler', 1],
        ]),
      ],
      resolve: [{ suffix: 'gate.test', host: '127.0.0.1', port: gate.port }],
    });
  });
  afterAll(async () => {
    await fx?.stop();
    await gate.stop();
  });

  it('runs streaming, each web worker and each Sidekiq process as an OS process of its own', async () => {
    expect(fx.processes.map((p) => p.role).sort()).toEqual([
      'sidekiq',
      'sidekiq',
      'sidekiq',
      'streaming',
      'web',
      'web',
    ]);
    const pids = fx.processes.map((p) => p.pid);
    expect(new Set(pids).size).toBe(6);
    expect(pids).not.toContain(process.pid);
    for (const pid of pids) expect(alive(pid)).toBe(true);

    // Each Sidekiq process registered itself under its own pid, with its unit's -c and queues.
    const registered = await new SidekiqStats(fx.tb.redis).processes();
    expect(registered.map((p) => p.pid).sort()).toEqual(pidsOf(fx, 'sidekiq').sort());
    expect(registered.map((p) => p.identity).sort()).toEqual(
      fx.processes.flatMap((p) => p.identity ?? []).sort(),
    );
    expect(registered.map((p) => `${p.concurrency} ${p.queues.join(',')}`).sort()).toEqual([
      '1 default,ingress,mailers,pull,scheduler',
      '2 push',
      '2 push',
    ]);
  });

  it('runs at most -c jobs at once in each Sidekiq process', async () => {
    const alice = await createLocalAccount(fx.tb, { username: 'alice' });
    const inboxes = Array.from({ length: 8 }, (_, i) => `https://i${i}.gate.test/inbox`);
    await fx.tb.sidekiq.pushBulk(
      'ActivityPub::DeliveryWorker',
      inboxes.map((inbox) => ['{"type":"Note"}', alice.accountId, inbox]),
    );
    // Two push processes of -c 2: four deliveries held at the gate, the other four still queued.
    await waitFor(() => gate.inFlight === 4, 'four deliveries in flight');
    await sleep(500);
    expect(gate.maxInFlight).toBe(4);
    expect(await fx.tb.redis.llen('queue:push')).toBe(4);
    gate.open();
    const stats = new SidekiqStats(fx.tb.redis);
    await waitFor(async () => (await stats.processed()) === 8, 'eight deliveries done');
    expect(gate.served).toBe(8);
    expect(await stats.failed()).toBe(0);
    // The primary keeps the exporter: each job's end, reported by the process that ran it.
    const metrics = await (await fetch(`${fx.url}/metrics`)).text();
    expect(metrics).toContain('sidekiq_jobs_total{job_name="ActivityPub::DeliveryWorker",queue="push"} 8');
  });

  it('keeps serving when a web worker dies: the workers share the port', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const [victim, survivor] = pidsOf(fx, 'web') as [number, number];
    process.kill(victim, 'SIGKILL');
    await waitFor(() => !alive(victim), 'the worker to die');
    for (let i = 0; i < 5; i++) expect(await getFresh(`${fx.url}/health`)).toBe(200);
    expect(alive(survivor)).toBe(true);
    await waitFor(
      () => logged.mock.calls.flat().join(' ').includes(`web process ${victim} exited`),
      'the report',
    );
    logged.mockRestore();
  });
});

describe('a web worker of MAX_THREADS 1', () => {
  const gate = new GateServer();
  let fx: TestbedFixture;
  beforeAll(async () => {
    await gate.start();
    fx = await startTestTestbed({
      webConcurrency: 1,
      maxThreads: 1,
      sidekiq: [],
      resolve: [{ suffix: 'gate.test', host: '127.0.0.1', port: gate.port }],
    });
  });
  afterAll(async () => {
    await fx?.stop();
    await gate.stop();
  });

  it('serves one request at a time, the next waits; streaming has its own process and does not wait', async () => {
    const actor = await gatedActor();
    // The unknown key is fetched inside the request: the only web thread is held at the gate.
    const held = postSigned(fx, '/inbox', noteCreate(actor, '1'), actor);
    await waitFor(() => gate.inFlight === 1, 'the key fetch to reach the gate');

    expect(await getFresh(`${fx.url}/api/v1/streaming/health`)).toBe(200);
    let answered = false;
    const waiting = getFresh(`${fx.url}/api/v1/instance`).then((status) => {
      answered = true;
      return status;
    });
    await sleep(500);
    expect(answered).toBe(false);

    gate.open();
    expect((await held).status).toBe(401);
    expect(await waiting).toBe(200);
    // The gem's web metrics, kept by the primary: the wait for the thread, by controller and action.
    const metrics = await (await fetch(`${fx.url}/metrics`)).text();
    const instanceWaitSec = Number(
      /^http_request_queue_duration_seconds_sum\{controller="api\/v1\/instances",action="show"\} ([\d.e-]+)$/m.exec(
        metrics,
      )?.[1],
    );
    expect(instanceWaitSec).toBeGreaterThanOrEqual(0.4);
    expect(metrics).toMatch(
      /^http_requests_total\{controller="api\/v1\/instances",action="show",status="200"\} 1$/m,
    );
    expect(metrics).toContain('# TYPE http_request_duration_seconds summary');
  });
});

describe('stopping the testbed', () => {
  it('finishes the job in flight, unregisters its Sidekiq processes and leaves no process behind', async () => {
    const gate = new GateServer();
    await gate.start();
    const fx = await startTestTestbed({
      webConcurrency: 1,
      sidekiq: [unit(1, [['push', 1]])],
      resolve: [{ suffix: 'gate.test', host: '127.0.0.1', port: gate.port }],
    });
    try {
      const bob = await createLocalAccount(fx.tb, { username: 'bob' });
      await fx.tb.sidekiq.push('ActivityPub::DeliveryWorker', [
        '{}',
        bob.accountId,
        'https://x.gate.test/inbox',
      ]);
      await waitFor(() => gate.inFlight === 1, 'the delivery in flight');
      const stats = new SidekiqStats(fx.tb.redis);
      expect(await stats.processesSize()).toBe(1);

      const closed = fx.close();
      await sleep(300);
      gate.open();
      await closed;
      for (const p of fx.processes) expect(alive(p.pid), `${p.role} ${p.pid}`).toBe(false);
      const redis = fx.tb.newRedis();
      try {
        expect(Number(await redis.get('stat:processed'))).toBe(1);
        expect(await redis.llen('queue:push')).toBe(0);
        expect(await redis.smembers('processes')).toEqual([]);
      } finally {
        redis.disconnect();
      }
    } finally {
      await fx.stop();
      await gate.stop();
    }
  });
});

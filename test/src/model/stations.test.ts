import { describe, expect, it } from 'vitest';
import type { ComponentState } from '../../../src/model/components.js';
import { planInfrastructure } from '../../../src/model/infrastructure.js';
import { evaluateMonth } from '../../../src/model/stations.js';
import type { StorageState } from '../../../src/model/storage.js';
import { flowEquivalentMetrics, flowEquivalentWaitPercentileSec } from '../../../src/model/flowEquivalent.js';
import { sidekiqPoolCapacity } from '../../../src/model/sidekiqNetwork.js';
import { analyticWaits, type WaitModel } from '../../../src/model/waitModel.js';
import type { JobLoad, ModelProfile, WebLoad, Workload } from '../../../src/model/workload.js';
import { modelProfile } from '../../support/helpers.js';

/**
 * Worked examples on a hand-made month: the workload is written out (not
 * derived from a profile) so every figure below can be checked on paper.
 * Peak-to-mean ratio 1, so peak rates are the rates written here.
 */

/** A wait model that records what the stations hand it and answers "no waiting". */
function recordingWaits() {
  const calls: Parameters<WaitModel>[] = [];
  const model: WaitModel = (queues, threads, percentile, pool) => {
    calls.push([queues, threads, percentile, pool]);
    const busy = queues.reduce((a, q) => a + q.arrivalRatePerSec * q.serviceTimeSec, 0);
    return {
      utilization: busy / threads,
      meanQueueLength: 0,
      perQueue: queues.map((q) => ({ queue: q.queue, percentileWaitSec: 0 })),
    };
  };
  return { model, calls };
}

function job(partial: Partial<JobLoad> & Pick<JobLoad, 'jobClass' | 'queue' | 'ratePerSec'>): JobLoad {
  return { cpuSec: 0, waitSec: 0, dbSec: 0, childCpuSec: 0, ...partial };
}

function web(partial: Partial<WebLoad> & Pick<WebLoad, 'ratePerSec'>): WebLoad {
  return { endpoint: 'timelines/home', cpuSec: 0, waitSec: 0, dbSec: 0, readsReplica: false, ...partial };
}

function month(jobs: JobLoad[], webLoads: WebLoad[] = []): Workload {
  return {
    month: 0,
    dailyActive: 0,
    monthlyActive: 0,
    feedHolders: 0,
    jobs,
    web: webLoads,
    streaming: { meanConnections: 0, eventsPerSec: 0 },
    perDay: {
      localStatuses: 0,
      remoteStatuses: 0,
      interactionRows: 0,
      localMediaBytes: 0,
      remoteMediaBytes: 0,
      previewCardBytes: 0,
      egressBytes: 0,
    },
    activeRelays: [],
  };
}

const EMPTY_STORAGE: StorageState = {
  localMediaGB: 0,
  remoteMediaCacheGB: 0,
  previewCardsGB: 0,
  databaseGB: 0,
  mediaGB: 0,
  usedGB: 0,
  egressGBPerMonth: 0,
};

/**
 * Host `app` (cores given) runs Puma, Sidekiq, streaming and Redis; PostgreSQL alone on `db`. Sidekiq's own
 * CPU and Redis's per job are 0 unless a test sets them, so the figures below come out round.
 */
function profileWith(edit: (p: ModelProfile) => void): ModelProfile {
  return modelProfile((p) => {
    p.activity.peakToMeanRatio = 1;
    p.serviceDemands.sidekiqFrameworkCpuSec = 0;
    p.serviceDemands.redisCpuSecPerJob = 0;
    p.infrastructure.hosts = [
      { name: 'app', cores: 100, memoryGiB: 16, services: ['web', 'sidekiq', 'streaming', 'redis'] },
      { name: 'db', cores: 4, memoryGiB: 16, services: ['postgres'] },
    ];
    p.infrastructure.puma = { host: 'app', webConcurrency: 2, maxThreads: 5 };
    p.infrastructure.sidekiq = [{ host: 'app', processes: 1, command: '-c 10 -q default', dbPool: 10 }];
    edit(p);
  });
}

function judge(profile: ModelProfile, workload: Workload, waits = recordingWaits()) {
  const components = evaluateMonth(
    profile,
    planInfrastructure(profile),
    workload,
    EMPTY_STORAGE,
    waits.model,
  );
  const byId = (id: string): ComponentState => {
    const c = components.find((x) => x.id === id);
    if (!c) throw new Error(`no component ${id} in ${components.map((x) => x.id).join(', ')}`);
    return c;
  };
  return { components, byId, calls: waits.calls };
}

describe('planInfrastructure', () => {
  it('caps a unit’s threads at its DB_POOL: 2 processes × min(-c 10, DB_POOL 4) = 8 threads', () => {
    const plan = planInfrastructure(
      profileWith((p) => {
        p.infrastructure.sidekiq = [{ host: 'app', processes: 2, command: '-c 10 -q default', dbPool: 4 }];
      }),
    );
    expect(plan.pools).toHaveLength(1);
    expect(plan.pools[0]!.threads).toBe(8);
    expect(plan.pools[0]!.processes).toBe(2);
    expect(plan.sidekiqUnits[0]!.args).toEqual({ threads: 10, queues: [{ name: 'default', weight: 1 }] });
  });

  it('merges units that share a queue into one pool, keeping the highest weight of each queue', () => {
    // A: -c 5 (default 2, push 1); B: -c 10 (push 3, pull 1) share push → one pool of 5 + 10 = 15 threads,
    // default 2, push max(1, 3) = 3, pull 1. C serves mailers alone: a pool of its own.
    const plan = planInfrastructure(
      profileWith((p) => {
        p.infrastructure.sidekiq = [
          { host: 'app', processes: 1, command: '-c 5 -q default,2 -q push', dbPool: 5 },
          { host: 'db', processes: 1, command: '-c 10 -q push,3 -q pull', dbPool: 10 },
          { host: 'app', processes: 1, command: '-c 3 -q mailers', dbPool: 3 },
        ];
      }),
    );
    expect(plan.pools).toHaveLength(2);
    const [shared, mailers] = plan.pools;
    expect(shared!.queueNames).toEqual(['default', 'push', 'pull']);
    expect([...shared!.queues]).toEqual([
      ['default', 2],
      ['push', 3],
      ['pull', 1],
    ]);
    expect(shared!.threads).toBe(15);
    expect(shared!.units).toEqual([0, 1]);
    expect([...shared!.hosts]).toEqual(['app', 'db']);
    expect(mailers!.queueNames).toEqual(['mailers']);
    expect(mailers!.threads).toBe(3);
  });

  it('rejects a command line the profile schema would have refused', () => {
    const profile = profileWith((p) => {
      p.infrastructure.sidekiq[0]!.command = '-q nosuchqueue';
    });
    expect(() => planInfrastructure(profile)).toThrow(/sidekiq\[0\]\.command: unknown queue "nosuchqueue"/);
  });
});

describe('evaluateMonth', () => {
  it('a Sidekiq process gets one core of Ruby CPU at most: 0.3 s jobs make it an M/M/1 server at 1/0.3 jobs/s', () => {
    // One process, -c 10, jobs of 0.3 s Ruby CPU and no I/O. The interpreter lock serves one job at a time:
    // the closed network's throughput is X(n) = 1/0.3 = 3.333 jobs/s whatever the n ≥ 1 jobs in service,
    // so the flow-equivalent server is M/M/1 with its 10 threads for a waiting room; at 2 jobs/s ρ = 0.6.
    // Busy threads n̄ = Σ_{k=1..10} P(n ≥ k) = Σ 0.6^k = 0.6 (1 − 0.6^10) / 0.4 = 1.49093, so a job holds a
    // thread n̄/λ = 0.74547 s (M/M/1-PS would say 0.3 / (1 − 0.6) = 0.75 s; the last 0.6^10 wait for a thread).
    const { byId, calls } = judge(
      profileWith(() => {}),
      month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 })]),
    );
    const [queues, threads, , pool] = calls[0]!;
    expect(threads).toBe(10);
    expect(queues).toHaveLength(1);
    expect(queues[0]!.arrivalRatePerSec).toBe(2);
    const busyThreads = (0.6 * (1 - 0.6 ** 10)) / 0.4;
    expect(queues[0]!.serviceTimeSec).toBeCloseTo(busyThreads / 2, 12);
    expect(pool!.capacityPerSec).toBeCloseTo(1 / 0.3, 12);
    expect(pool!.probabilityOfWait).toBeCloseTo(0.6 ** 10, 12);
    const process = byId('sidekiq-process:default');
    expect(process.ref).toEqual({ kind: 'sidekiq-process', queues: ['default'] });
    expect(process.utilization).toBeCloseTo(0.6, 12);
    expect(process.binding).toEqual({
      kind: 'limit',
      limit: {
        what: 'sidekiq-capacity',
        utilization: process.utilization,
        maxThroughputPerSec: pool!.capacityPerSec,
        bottleneck: 'interpreter-lock',
        processes: 1,
        threads: 10,
        threadUtilization: expect.closeTo(busyThreads / 10, 12),
        lockUtilization: expect.closeTo(0.6, 12),
      },
    });
    expect(process.broken).toBe(false); // 60% < maxUtilization 80%
    const queue = byId('sidekiq-queue:default');
    expect(queue.utilization).toBeCloseTo(busyThreads / 10, 12);
    expect(queue.latencySec).toBe(0);
    expect(queue.latencyLimitSec).toBe(10);
  });

  it('a second process is a second lock: twice the capacity, 30% of it used', () => {
    // Each process serves 1/0.3 jobs/s with one job or more; jobs in service spread evenly over the two, so
    // X(1) = 2 × ½ × 3.333 = 3.333 and X(n ≥ 2) = 6.667 jobs/s. At 2 jobs/s: p(1) = 0.6 p(0), then ratio 0.3:
    // p(0) = 1 / (1 + 0.6 / 0.7), n̄ = 0.6 p(0) / 0.7² (the 20-thread cap changes it by 0.3^19), so a job holds a
    // thread n̄/λ = 0.3297 s: the lock rarely makes it wait now.
    const { byId, calls } = judge(
      profileWith((p) => {
        p.infrastructure.sidekiq[0]!.processes = 2;
      }),
      month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 })]),
    );
    expect(calls[0]![1]).toBe(20);
    const p0 = 1 / (1 + 0.6 / 0.7);
    expect(calls[0]![0][0]!.serviceTimeSec).toBeCloseTo((0.6 * p0) / 0.49 / 2, 9);
    const process = byId('sidekiq-process:default');
    expect(process.utilization).toBeCloseTo(0.3, 12);
    expect(process.binding).toMatchObject({
      limit: { what: 'sidekiq-capacity', processes: 2, threads: 20, lockUtilization: 0.3 },
    });
  });

  it('DB_POOL below -c caps the threads, and waiting jobs fill them', () => {
    // DB_POOL 2 caps -c 10 at 2 threads. Jobs wait 0.4 s and use no CPU: X(n) = n / 0.4, M/M/2 with a
    // capacity of 5 jobs/s. At 4 jobs/s it is 80% loaded, 1.6 threads busy of 2: not above maxUtilization
    // 0.8, so the pool holds; at 4.5 jobs/s (90%) it breaks. Threads bind.
    const profile = profileWith((p) => {
      p.infrastructure.sidekiq[0]!.dbPool = 2;
    });
    const at = (ratePerSec: number) =>
      judge(
        profile,
        month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec, waitSec: 0.4 })]),
      );
    const held = at(4).byId('sidekiq-process:default');
    expect(held.utilization).toBeCloseTo(0.8, 12);
    expect(held.binding).toMatchObject({
      kind: 'limit',
      limit: { what: 'sidekiq-capacity', bottleneck: 'threads', threads: 2, maxThroughputPerSec: 5 },
    });
    if (held.binding.kind === 'limit' && held.binding.limit.what === 'sidekiq-capacity')
      expect(held.binding.limit.threadUtilization).toBeCloseTo(0.8, 12);
    expect(held.broken).toBe(false);
    const broken = at(4.5).byId('sidekiq-process:default');
    expect(broken.utilization).toBeCloseTo(0.9, 12);
    expect(broken.broken).toBe(true);
  });

  it('co-located services share the host’s cores, and ffmpeg counts there but not on the interpreter lock', () => {
    // Host app, 4 cores:
    //   Sidekiq Ruby CPU 2 jobs/s × 0.3 s = 0.6 cores; ffmpeg 0.4 jobs/s × 1 s = 0.4 cores;
    //   Puma 10 req/s × 0.1 s = 1.0 core.  Total 2.0 cores of 4: host 50%.
    // Sidekiq: the rest of the host (Puma, ffmpeg) leaves its lock holder 2.6 cores, more than the one it can
    //   use. 2.4 jobs/s of 0.25 s Ruby CPU on average (ffmpeg is not on the lock) through one process: M/M/1 at
    //   4 jobs/s, 60% loaded; n̄ = Σ_{k=1..10} 0.6^k busy threads → n̄ / 2.4 s per job.
    // Puma: 1.0 core over WEB_CONCURRENCY 2 = 50%; host 50% → stretch 2: 0.1 × 2 = 0.2 s per request;
    //   10 × 0.2 = 2 busy threads of 2 × 5 = 20%. Utilization max(20%, 50%, 50%) = 50%: Ruby CPU binds
    //   (the first of the tied limits).
    const { byId, calls } = judge(
      profileWith((p) => {
        p.infrastructure.hosts[0]!.cores = 4;
      }),
      month(
        [
          job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 }),
          job({ jobClass: 'PostProcessMediaWorker', queue: 'default', ratePerSec: 0.4, childCpuSec: 1 }),
        ],
        [web({ ratePerSec: 10, cpuSec: 0.1 })],
      ),
    );
    const sidekiq = byId('sidekiq-process:default');
    expect(sidekiq.utilization).toBeCloseTo(0.6, 12);
    expect(sidekiq.binding).toMatchObject({
      limit: { what: 'sidekiq-capacity', maxThroughputPerSec: 4, lockUtilization: 0.6 },
    });
    expect(calls[0]![0][0]!.serviceTimeSec).toBeCloseTo((0.6 * (1 - 0.6 ** 10)) / 0.4 / 2.4, 12);
    const webState = byId('web');
    expect(calls[1]![0][0]!.serviceTimeSec).toBeCloseTo(0.2, 12);
    expect(calls[1]![1]).toBe(10);
    expect(webState.utilization).toBeCloseTo(0.5, 12);
    expect(webState.binding).toMatchObject({ kind: 'limit', limit: { what: 'puma-cpu', webConcurrency: 2 } });

    // Three more cores of ffmpeg (3 jobs/s × 1 s): host (0.6 + 3 + 1) / 4 = 115% — the host binds both.
    const busier = judge(
      profileWith((p) => {
        p.infrastructure.hosts[0]!.cores = 4;
      }),
      month(
        [
          job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 }),
          job({ jobClass: 'PostProcessMediaWorker', queue: 'default', ratePerSec: 3, childCpuSec: 1 }),
        ],
        [web({ ratePerSec: 10, cpuSec: 0.1 })],
      ),
    );
    for (const id of ['sidekiq-process:default', 'web']) {
      const c = busier.byId(id);
      expect(c.utilization, id).toBeCloseTo(4.6 / 4, 12);
      expect(c.binding, id).toEqual({
        kind: 'limit',
        limit: {
          what: 'host-cpu',
          utilization: c.utilization,
          hosts: [{ host: 'app', utilization: c.utilization }],
        },
      });
      expect(c.broken, id).toBe(true);
    }
    // The rest of the host leaves Sidekiq's lock holder no core (4 − 3 − 1): the queue waits without bound,
    // and Puma's stretch is infinite: neither asks the wait model.
    expect(busier.byId('sidekiq-queue:default').latencySec).toBe(Infinity);
    expect(busier.calls).toHaveLength(0);
  });

  it('PostgreSQL: CPU seconds of the primary and the connections they hold', () => {
    // 50 jobs/s × 0.02 s + 100 req/s × 0.01 s = 2 DB-seconds per second: 2 of 4 cores = 50%.
    // Hold factor h: 2 × h connections busy of max_connections 100.
    const profile = profileWith(() => {});
    const hold = profile.serviceDemands.postgresConnectionHoldFactor;
    const { byId } = judge(
      profile,
      month(
        [job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 50, dbSec: 0.02 })],
        [web({ ratePerSec: 100, dbSec: 0.01 })],
      ),
    );
    const pg = byId('postgres');
    expect(pg.ref).toEqual({ kind: 'postgres', role: 'primary' });
    expect(pg.utilization).toBeCloseTo(Math.max(0.5, (2 * hold) / 100), 12);
    // Clients may open 2 × 5 (Puma) + 10 (Sidekiq DB_POOL) + streaming's pool: within 100.
    expect(pg.binding.kind).toBe('limit');
  });

  it('leaves out the Sidekiq components and the main Redis when asked for the cheaper pass', () => {
    const profile = profileWith(() => {});
    const workload = month([
      job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 1, cpuSec: 0.1 }),
    ]);
    const waits = recordingWaits();
    const cheap = evaluateMonth(profile, planInfrastructure(profile), workload, EMPTY_STORAGE, waits.model, {
      withSidekiqWaits: false,
    });
    expect(cheap.map((c) => c.id)).toEqual(['web', 'postgres', 'streaming', 'storage']);
    const full = judge(profile, workload).components.map((c) => c.id);
    expect(full).toEqual([
      'sidekiq-queue:default',
      'sidekiq-process:default',
      'web',
      'postgres',
      'streaming',
      'redis',
      'storage',
    ]);
  });
});

/** The pool's capacity limit (it binds the pool whenever the host does not). */
function capacityOf(c: ComponentState) {
  if (c.binding.kind !== 'limit' || c.binding.limit.what !== 'sidekiq-capacity')
    throw new Error(`${c.id} is bound by ${JSON.stringify(c.binding)}, not its capacity`);
  return c.binding.limit;
}

describe('Sidekiq pools as closed networks', () => {
  it('the pool’s capacity is sidekiqPoolCapacity of its peak job mix, with the cores the rest of its host leaves', () => {
    // default (40 jobs/s: 20 ms CPU, 50 ms wait) and push (20 jobs/s: 5 ms CPU, 300 ms wait) share 2 × -c 10.
    // The mix: (40 × 20 + 20 × 5) / 60 = 15 ms of CPU and (40 × 50 + 20 × 300) / 60 = 133 ms of wait per job.
    // Host app (4 cores) also runs Puma (10 req/s × 0.1 s = 1 core) and Redis: 4 − 1 = 3 cores for the lock
    // holders, whose own Redis CPU is in the network.
    const profile = profileWith((p) => {
      p.infrastructure.hosts[0]!.cores = 4;
      p.infrastructure.sidekiq = [
        { host: 'app', processes: 2, command: '-c 10 -q default,2 -q push', dbPool: 10 },
      ];
      p.serviceDemands.sidekiqFrameworkCpuSec = 0.0005;
      p.serviceDemands.redisCpuSecPerJob = 0.0001;
    });
    const { byId, calls } = judge(
      profile,
      month(
        [
          job({
            jobClass: 'DistributionWorker',
            queue: 'default',
            ratePerSec: 40,
            cpuSec: 0.02,
            waitSec: 0.05,
          }),
          job({
            jobClass: 'ActivityPub::DeliveryWorker',
            queue: 'push',
            ratePerSec: 20,
            cpuSec: 0.005,
            waitSec: 0.3,
          }),
        ],
        [web({ ratePerSec: 10, cpuSec: 0.1 })],
      ),
    );
    const expected = sidekiqPoolCapacity({
      processes: 2,
      threads: 10,
      jobCpuSec: 0.015,
      jobWaitSec: 2 / 15,
      frameworkCpuSec: 0.0005,
      hostCores: 3,
      redisCpuSecPerJob: 0.0001,
    });
    const capacity = capacityOf(byId('sidekiq-process:default+push'));
    expect(capacity.maxThroughputPerSec).toBeCloseTo(expected.maxThroughputPerSec, 9);
    expect(capacity.bottleneck).toBe(expected.bottleneck);
    expect(capacity.utilization).toBeCloseTo(60 / expected.maxThroughputPerSec, 9);
    // The wait model gets the flow-equivalent server at 60 jobs/s, and service times whose mean is n̄/λ.
    const [queues, threads, , pool] = calls[0]!;
    expect(threads).toBe(20);
    const flow = flowEquivalentMetrics(expected.throughputAt, 60);
    expect(pool!.meanBusyThreads).toBeCloseTo(flow.meanBusyThreads, 9);
    expect(pool!.probabilityOfWait).toBeCloseTo(flow.probabilityOfWait, 9);
    const busy = queues.reduce((a, q) => a + q.arrivalRatePerSec * q.serviceTimeSec, 0);
    expect(busy).toBeCloseTo(flow.meanBusyThreads, 9);
    // The host carries Sidekiq's own CPU and Redis's: (60 × (15.5 + 0.1) ms + 1 core) / 4. Streaming, idle on
    // the same host, is bound by it.
    expect(byId('streaming').binding).toMatchObject({ limit: { what: 'host-cpu' } });
    expect(byId('streaming').utilization).toBeCloseTo((60 * 0.0156 + 1) / 4, 12);
  });

  it('one queue: its p95 wait is the flow-equivalent server’s', () => {
    const profile = profileWith((p) => {
      p.infrastructure.sidekiq = [{ host: 'app', processes: 1, command: '-c 5 -q default', dbPool: 5 }];
    });
    const { byId } = judge(
      profile,
      month([
        job({
          jobClass: 'DistributionWorker',
          queue: 'default',
          ratePerSec: 40,
          cpuSec: 0.01,
          waitSec: 0.05,
        }),
      ]),
      { model: analyticWaits, calls: [] },
    );
    const network = sidekiqPoolCapacity({
      processes: 1,
      threads: 5,
      jobCpuSec: 0.01,
      jobWaitSec: 0.05,
      frameworkCpuSec: 0,
      hostCores: 100,
      redisCpuSecPerJob: 0,
    });
    const flow = flowEquivalentMetrics(network.throughputAt, 40);
    expect(flow.probabilityOfWait).toBeGreaterThan(0.05);
    const wait = byId('sidekiq-queue:default').latencySec!;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeCloseTo(flowEquivalentWaitPercentileSec(flow, 95), 9);
  });

  it('a CPU-heavy mix is bound by the interpreter lock at processes / CPU: more -c does not help, more processes do, up to the cores', () => {
    // 10 ms of Ruby CPU and 2 ms of I/O per job; host app has 4 cores and nothing else to run.
    const capacity = (processes: number, threads: number) =>
      capacityOf(
        judge(
          profileWith((p) => {
            p.infrastructure.hosts[0]!.cores = 4;
            p.infrastructure.sidekiq = [
              { host: 'app', processes, command: `-c ${threads} -q default`, dbPool: threads },
            ];
          }),
          month([
            job({
              jobClass: 'DistributionWorker',
              queue: 'default',
              ratePerSec: 1,
              cpuSec: 0.01,
              waitSec: 0.002,
            }),
          ]),
        ).byId('sidekiq-process:default'),
      );
    const c5 = capacity(1, 5);
    const c25 = capacity(1, 25);
    expect(c5.bottleneck).toBe('interpreter-lock');
    expect(c25.bottleneck).toBe('interpreter-lock');
    expect(c25.maxThroughputPerSec).toBeLessThanOrEqual(100 + 1e-9);
    expect(c5.maxThroughputPerSec).toBeGreaterThan(0.97 * c25.maxThroughputPerSec); // -c 25 buys under 3 %
    const two = capacity(2, 5);
    const four = capacity(4, 5);
    expect(two.maxThroughputPerSec).toBeGreaterThan(1.9 * c5.maxThroughputPerSec);
    expect(four.maxThroughputPerSec).toBeGreaterThan(3.8 * c5.maxThroughputPerSec);
    expect(four.bottleneck).toBe('interpreter-lock');
    // Eight processes on four cores: the cores bind, and they give no more than 4 cores / 10 ms = 400 jobs/s.
    const eight = capacity(8, 5);
    expect(eight.bottleneck).toBe('host-cores');
    expect(eight.maxThroughputPerSec).toBeLessThanOrEqual(400 + 1e-9);
    expect(eight.maxThroughputPerSec).toBeLessThan(1.05 * four.maxThroughputPerSec);
  });

  it('Redis on the pool’s host takes cores from its lock holders; on another host it does not', () => {
    // Two CPU-bound processes fill the 2-core app host; Redis needs 0.5 ms of CPU per job.
    const judged = (redisHost: 'app' | 'db') => {
      const { byId, calls } = judge(
        profileWith((p) => {
          p.infrastructure.hosts = [
            { name: 'app', cores: 2, memoryGiB: 8, services: ['web', 'sidekiq', 'streaming'] },
            { name: 'db', cores: 4, memoryGiB: 16, services: ['postgres'] },
          ];
          p.infrastructure.hosts.find((h) => h.name === redisHost)!.services.push('redis');
          p.infrastructure.sidekiq = [{ host: 'app', processes: 2, command: '-c 5 -q default', dbPool: 5 }];
          p.serviceDemands.redisCpuSecPerJob = 0.0005;
        }),
        month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 1, cpuSec: 0.01 })]),
      );
      return { pool: byId('sidekiq-process:default'), capacityPerSec: calls[0]![3]!.capacityPerSec };
    };
    const here = judged('app');
    const elsewhere = judged('db');
    expect(capacityOf(elsewhere.pool).bottleneck).toBe('interpreter-lock');
    expect(here.capacityPerSec).toBeLessThan(0.97 * elsewhere.capacityPerSec);
    // Redis's share of the two cores at ~190 jobs/s × 0.5 ms ≈ 0.1 core: about 5 % of the capacity.
    expect(here.capacityPerSec).toBeGreaterThan(0.9 * elsewhere.capacityPerSec);
    // The cores bind: the host's own limit, or the pool's capacity naming them, whichever is a hair higher.
    const binding = here.pool.binding;
    const what = binding.kind === 'limit' ? binding.limit : null;
    expect(
      what?.what === 'host-cpu' || (what?.what === 'sidekiq-capacity' && what.bottleneck === 'host-cores'),
    ).toBe(true);
  });

  it('units of one pool on two hosts: X(N) is the sum of the units’, each with what its host leaves it', () => {
    // One -c 10 process on app (100 cores) and one on db, whose 4 cores PostgreSQL uses 3.5 of (350 jobs/s
    // × 10 ms): the db unit's lock holder gets half a core there, and runs at half speed.
    const { byId, calls } = judge(
      profileWith((p) => {
        p.infrastructure.hosts[1]!.services.push('sidekiq');
        p.infrastructure.sidekiq = [
          { host: 'app', processes: 1, command: '-c 10 -q default', dbPool: 10 },
          { host: 'db', processes: 1, command: '-c 10 -q default', dbPool: 10 },
        ];
      }),
      month([
        job({
          jobClass: 'DistributionWorker',
          queue: 'default',
          ratePerSec: 10,
          cpuSec: 0.01,
          waitSec: 0.03,
        }),
        job({ jobClass: 'FeedInsertWorker', queue: 'pull', ratePerSec: 350, dbSec: 0.01 }),
      ]),
    );
    const unit = (hostCores: number) =>
      sidekiqPoolCapacity({
        processes: 1,
        threads: 10,
        jobCpuSec: 0.01,
        jobWaitSec: 0.03,
        frameworkCpuSec: 0,
        hostCores,
        redisCpuSecPerJob: 0,
      }).maxThroughputPerSec;
    expect(calls[0]![1]).toBe(20);
    expect(unit(0.5)).toBeLessThan(0.6 * unit(100));
    expect(calls[0]![3]!.capacityPerSec).toBeCloseTo(unit(100) + unit(0.5), 9);
    // PostgreSQL and the db unit keep db's cores 89 % busy: the host binds the pool.
    expect(byId('sidekiq-process:default').binding).toMatchObject({ limit: { what: 'host-cpu' } });
  });
});

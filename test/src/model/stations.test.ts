import { describe, expect, it } from 'vitest';
import type { ComponentState } from '../../../src/model/components.js';
import { planInfrastructure } from '../../../src/model/infrastructure.js';
import { evaluateMonth } from '../../../src/model/stations.js';
import type { StorageState } from '../../../src/model/storage.js';
import type { WaitModel } from '../../../src/model/waitModel.js';
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
  const model: WaitModel = (queues, threads, percentile) => {
    calls.push([queues, threads, percentile]);
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

/** Host `app` (cores given) runs Puma, Sidekiq and streaming; PostgreSQL alone on `db`. */
function profileWith(edit: (p: ModelProfile) => void): ModelProfile {
  return modelProfile((p) => {
    p.activity.peakToMeanRatio = 1;
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
  it('a Sidekiq process gets one core of Ruby CPU at most, and that stretches its jobs', () => {
    // 2 jobs/s × 0.3 s CPU = 0.6 cores of Ruby CPU for 1 process: the interpreter lock is 60% busy.
    // Processor sharing stretches CPU time by 1 / (1 − 0.6) = 2.5: each job holds a thread 0.75 s.
    // Threads: 2 × 0.75 / 10 = 15% busy. The process's utilization is the largest limit: 60%, Ruby CPU.
    const { byId, calls } = judge(
      profileWith(() => {}),
      month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 })]),
    );
    const [queues, threads] = calls[0]!;
    expect(threads).toBe(10);
    expect(queues).toHaveLength(1);
    expect(queues[0]!.arrivalRatePerSec).toBe(2);
    expect(queues[0]!.serviceTimeSec).toBeCloseTo(0.75, 12);
    const process = byId('sidekiq-process:default');
    expect(process.ref).toEqual({ kind: 'sidekiq-process', queues: ['default'] });
    expect(process.utilization).toBeCloseTo(0.6, 12);
    expect(process.binding).toMatchObject({ kind: 'limit', limit: { what: 'sidekiq-cpu', processes: 1 } });
    expect(process.broken).toBe(false); // 60% < maxUtilization 80%
    const queue = byId('sidekiq-queue:default');
    expect(queue.utilization).toBeCloseTo(0.15, 12);
    expect(queue.latencySec).toBe(0);
    expect(queue.latencyLimitSec).toBe(10);
  });

  it('a second process halves the Ruby CPU per process: 0.6 cores over 2 processes = 30%', () => {
    // Stretch 1 / (1 − 0.3) = 1.4286: 0.3 × 1.4286 = 0.4286 s per job; 2 × 0.4286 / 20 threads = 4.3%.
    const { byId, calls } = judge(
      profileWith((p) => {
        p.infrastructure.sidekiq[0]!.processes = 2;
      }),
      month([job({ jobClass: 'DistributionWorker', queue: 'default', ratePerSec: 2, cpuSec: 0.3 })]),
    );
    expect(calls[0]![1]).toBe(20);
    expect(calls[0]![0][0]!.serviceTimeSec).toBeCloseTo(0.3 / 0.7, 12);
    expect(byId('sidekiq-process:default').utilization).toBeCloseTo(0.3, 12);
  });

  it('DB_POOL below -c caps the threads, and waiting jobs fill them', () => {
    // DB_POOL 2 caps -c 10 at 2 threads. 4 jobs/s × 0.4 s of waiting (no CPU) = 1.6 busy threads of 2: 80%.
    // 80% is not above maxUtilization 0.8, so the pool holds; at 4.5 jobs/s (90%) it breaks.
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
    expect(held.binding).toMatchObject({ kind: 'limit', limit: { what: 'sidekiq-threads', threads: 2 } });
    expect(held.broken).toBe(false);
    const broken = at(4.5).byId('sidekiq-process:default');
    expect(broken.utilization).toBeCloseTo(0.9, 12);
    expect(broken.broken).toBe(true);
  });

  it('co-located services share the host’s cores, and ffmpeg counts there but not on the interpreter lock', () => {
    // Host app, 4 cores:
    //   Sidekiq Ruby CPU 2 jobs/s × 0.3 s = 0.6 cores; ffmpeg 0.4 jobs/s × 1 s = 0.4 cores;
    //   Puma 10 req/s × 0.1 s = 1.0 core.  Total 2.0 cores of 4: host 50%.
    // Sidekiq: interpreter lock 0.6 / 1 = 60% > host 50% → stretch 1 / 0.4 = 2.5 (ffmpeg not on the lock).
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
    // 2.4 jobs/s, 2 × 0.3 × 2.5 = 1.5 busy seconds per second → 0.625 s per job
    expect(calls[0]![0][0]!.serviceTimeSec).toBeCloseTo(1.5 / 2.4, 12);
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
    // An overloaded host cannot be judged by the wait model: the queue reports an unbounded wait.
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

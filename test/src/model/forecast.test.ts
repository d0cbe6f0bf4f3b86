import { describe, expect, it } from 'vitest';
import { addMonths, forecast } from '../../../src/model/forecast.js';
import { COMPONENT_KINDS } from '../../../src/model/components.js';
import { demandPathsOf } from '../../../src/model/demandPaths.js';
import { planInfrastructure } from '../../../src/model/infrastructure.js';
import { evaluateMonth } from '../../../src/model/stations.js';
import { storageAfter } from '../../../src/model/storage.js';
import { analyticWaits } from '../../../src/model/waitModel.js';
import { workloadAt, type ModelProfile } from '../../../src/model/workload.js';
import { modelProfile } from '../../support/helpers.js';

const horizon = { months: 24, start: '2026-11' };

function scaleUsers(factor: number) {
  return (p: ModelProfile) => {
    p.accounts.dailyActive *= factor;
    p.accounts.monthlyActive *= factor;
    p.graph.inbound.remoteAccountsFollowed *= factor;
  };
}

describe('forecast', () => {
  it('covers every month of the horizon with calendar dates', () => {
    const result = forecast(modelProfile(), horizon);
    expect(result.months).toHaveLength(24);
    expect(result.months[0]!.date).toBe('2026-11');
    expect(result.months[23]!.date).toBe('2028-10');
    expect(addMonths('2026-12', 1)).toBe('2027-01');
    const kinds = new Set(result.months[0]!.components.map((c) => c.kind));
    expect([...kinds].sort()).toEqual([...COMPONENT_KINDS].sort());
  });

  it('a saturation date is the first month a component breaks, and it stays broken under growth', () => {
    const result = forecast(
      modelProfile((p) => (p.growth.monthlyActiveUserGrowth = 0.15)),
      horizon,
    );
    const saturated = [...result.saturation].filter(([, s]) => s !== null);
    expect(saturated.length).toBeGreaterThan(0);
    for (const [id, sat] of saturated) {
      for (const m of result.months) {
        const broken = m.components.find((c) => c.id === id)!.broken;
        expect(broken, `${id} month ${m.month}`).toBe(m.month >= sat!.month);
      }
    }
  });

  it('property: more users never make a saturation date later', () => {
    const factors = [0.5, 1, 1.5, 2, 3, 5];
    const runs = factors.map((f) => forecast(modelProfile(scaleUsers(f)), horizon).saturation);
    const ids = [...runs[0]!.keys()];
    for (const id of ids) {
      const months = runs.map((r) => r.get(id)?.month ?? Infinity);
      for (let i = 1; i < months.length; i++)
        expect(months[i], `${id} at ×${factors[i]}`).toBeLessThanOrEqual(months[i - 1]!);
    }
    // And the growth does bite somewhere within 24 months at ×5.
    expect([...runs[5]!.values()].some((s) => s !== null)).toBe(true);
  });

  it('property: more Sidekiq threads never raise predicted queue waits', () => {
    let previous: number[] | null = null;
    for (const threads of [8, 10, 15, 25, 40, 80]) {
      const p = modelProfile((x) => {
        x.infrastructure.sidekiq[0]!.command =
          `-c ${threads} -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull -q scheduler`;
        x.infrastructure.sidekiq[0]!.dbPool = threads;
        x.accounts.dailyActive *= 3;
      });
      const w = workloadAt(p, 0);
      const waits = evaluateMonth(p, planInfrastructure(p), w, storageAfter(p, [w]), analyticWaits)
        .filter((c) => c.kind === 'sidekiq-queue')
        .map((c) => c.latencySec!);
      if (previous) for (const [i, x] of waits.entries()) expect(x).toBeLessThanOrEqual(previous[i]! + 1e-12);
      previous = waits;
    }
  });

  it('DB_POOL below the thread count caps the threads a Sidekiq process can use', () => {
    const processWith = (dbPool: number) =>
      forecast(
        modelProfile((x) => (x.infrastructure.sidekiq[0]!.dbPool = dbPool)),
        { months: 1, start: '2026-11' },
      ).months[0]!.components.find((c) => c.kind === 'sidekiq-process')!;
    // With 5 threads for jobs that mostly wait on I/O, threads bind the pool's capacity.
    const capped = processWith(5);
    expect(capped.binding).toMatchObject({
      kind: 'limit',
      limit: { what: 'sidekiq-capacity', utilization: capped.utilization, threads: 5, bottleneck: 'threads' },
    });
    expect(processWith(25).binding).toMatchObject({ limit: { threads: 25 } });
    expect(capped.utilization).toBeGreaterThan(4 * processWith(25).utilization);
  });

  it('co-located services share cores: moving PostgreSQL onto the app host raises its CPU utilization', () => {
    const apart = forecast(modelProfile(), { months: 1, start: '2026-11' }).months[0]!;
    const together = forecast(
      modelProfile((p) => {
        p.infrastructure.postgres.host = 'app';
        p.infrastructure.hosts[0]!.services.push('postgres');
      }),
      { months: 1, start: '2026-11' },
    ).months[0]!;
    const web = (m: typeof apart) => m.components.find((c) => c.id === 'web')!;
    expect(web(together).utilization).toBeGreaterThanOrEqual(web(apart).utilization);
    const pg = together.components.find((c) => c.id === 'postgres')!;
    expect(pg.binding.kind).toBe('limit');
    if (pg.binding.kind === 'limit')
      expect(['postgres-cpu', 'host-cpu', 'server-connections']).toContain(pg.binding.limit.what);
  });

  it("ffmpeg's transcode CPU lands on the Sidekiq host's cores, not on the Ruby process's interpreter lock", () => {
    const month0 = (transcodeSec: number) =>
      forecast(
        modelProfile((p) => {
          p.activity.mediaPerPost.video = 1; // every post carries a video
          p.serviceDemands.videoTranscodeCpuSec = transcodeSec;
        }),
        { months: 1, start: '2026-11' },
      ).months[0]!;
    const none = month0(0);
    const heavy = month0(60);
    const pool = (m: typeof none) => m.components.find((c) => c.kind === 'sidekiq-process')!;
    const web = (m: typeof none) => m.components.find((c) => c.id === 'web')!;
    // each job carries the transcode's CPU; at the peak it needs (videos/s × 60 s) cores of the app host
    const transcode = heavy.workload.jobs.find((j) => j.jobClass === 'PostProcessMediaWorker')!;
    expect(transcode.childCpuSec).toBe(60);
    const appCores = modelProfile().infrastructure.hosts.find((h) => h.name === 'app')!.cores;
    const hostShare = (transcode.ratePerSec * modelProfile().activity.peakToMeanRatio * 60) / appCores;
    const binding = pool(heavy).binding;
    const hostCpu = binding.kind === 'limit' && binding.limit.what === 'host-cpu' ? binding.limit.hosts : [];
    expect(hostCpu.map((h) => h.host)).toEqual(['app']);
    expect(hostCpu[0]!.utilization).toBeGreaterThanOrEqual(hostShare);
    expect(pool(heavy).utilization).toBeGreaterThan(pool(none).utilization);
    // Puma shares that host: its CPU is stretched too
    expect(web(heavy).utilization).toBeGreaterThan(web(none).utilization);
    // the interpreter lock does not see it: with cores to spare the Sidekiq process is as busy either way
    const spare = (transcodeSec: number) =>
      pool(
        forecast(
          modelProfile((p) => {
            p.activity.mediaPerPost.video = 1;
            p.serviceDemands.videoTranscodeCpuSec = transcodeSec;
            p.infrastructure.hosts.find((h) => h.name === 'app')!.cores = 1_000;
          }),
          { months: 1, start: '2026-11' },
        ).months[0]!,
      );
    expect(spare(60).utilization).toBe(spare(0).utilization);
    expect(spare(60).binding).not.toMatchObject({ limit: { what: 'host-cpu' } });
    expect(demandPathsOf(pool(heavy).ref, heavy.workload, false)).toContain(
      'serviceDemands.videoTranscodeCpuSec',
    );
    expect(demandPathsOf(pool(none).ref, none.workload, false)).not.toContain(
      'serviceDemands.videoTranscodeCpuSec',
    );
  });

  it('flags clients that may open more connections than max_connections', () => {
    const m = forecast(
      modelProfile((p) => {
        p.infrastructure.sidekiq[0]!.processes = 1;
        p.infrastructure.sidekiq[0]!.dbPool = 200;
      }),
      { months: 1, start: '2026-11' },
    ).months[0]!;
    const pg = m.components.find((c) => c.id === 'postgres')!;
    expect(pg.broken).toBe(true);
    expect(pg.binding).toMatchObject({
      kind: 'overbooked',
      clients: 225,
      configLimit: 100,
      pgbouncer: false,
    });
  });
});

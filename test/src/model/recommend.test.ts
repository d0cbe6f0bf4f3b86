import { describe, expect, it } from 'vitest';
import { forecast } from '../../../src/model/forecast.js';
import { candidateChanges, queuesNeedingAProcess, recommend } from '../../../src/model/recommend.js';
import { planInfrastructure } from '../../../src/model/infrastructure.js';
import { analyticWaits, simulatedWaits } from '../../../src/model/waitModel.js';
import { seededRng } from '../../../src/shared/random.js';
import { modelProfile } from '../../support/helpers.js';

const horizon = { months: 24, start: '2026-11' };

describe('recommendations', () => {
  it('push a saturating Sidekiq pool back with a Mastodon knob, and say by how much', () => {
    const p = modelProfile((x) => {
      x.accounts.dailyActive *= 3;
      x.accounts.monthlyActive *= 3;
      x.graph.inbound.remoteAccountsFollowed *= 3;
      x.growth.monthlyActiveUserGrowth = 0.06;
    });
    const base = forecast(p, horizon);
    const sat = base.saturation.get('sidekiq-process:default+push+ingress+mailers+pull+scheduler');
    expect(sat).not.toBeNull();
    const recs = recommend(p, base, horizon);
    const rec = recs.find(
      (r) => r.componentId === 'sidekiq-process:default+push+ingress+mailers+pull+scheduler',
    )!;
    expect(rec.knob).toMatch(/Sidekiq|cores/);
    expect(rec.change).toMatch(/sidekiq|-c \d+|vCPUs/);
    const newMonth =
      rec.newSaturationDate === null
        ? Infinity
        : base.months.findIndex((m) => m.date === rec.newSaturationDate);
    expect(newMonth).toBeGreaterThan(sat!.month);
  });

  it('storage: shorter remote media retention or a bigger disk', () => {
    const p = modelProfile((x) => (x.growth.monthlyActiveUserGrowth = 0.05));
    const base = forecast(p, horizon);
    const rec = recommend(p, base, horizon).find((r) => r.componentId === 'storage')!;
    expect(rec.knob).toMatch(/tootctl media remove|storage capacity/);
  });
});

const POOL = 'sidekiq-process:default+push+ingress+mailers+pull+scheduler';

describe('recommendations an admin can budget from', () => {
  it("a bigger disk costs the GB added times the profile's disk price", () => {
    const p = modelProfile((x) => {
      x.growth.monthlyActiveUserGrowth = 0.12;
      x.prices.diskPerGBMonth = 0.05;
    });
    const base = forecast(p, horizon);
    const rec = recommend(p, base, horizon).find((r) => r.componentId === 'storage')!;
    expect(rec.change).toBe('grow the media disk to 3000 GB');
    // (3000 − 1500) GB × $0.05 per GB-month.
    expect(rec.costItems).toEqual([
      { unit: 'GB', quantity: 1500, usdPerUnitMonth: 0.05, price: 'prices.diskPerGBMonth' },
    ]);
    expect(rec.extraMonthlyUSD).toBeCloseTo((3000 - 1500) * 0.05, 9);
  });

  it("a bigger bucket quota is priced at the provider's price per GB held", () => {
    const p = modelProfile((x) => {
      x.growth.monthlyActiveUserGrowth = 0.12;
      x.infrastructure.storage = { ...x.infrastructure.storage, kind: 'object', provider: 'r2' };
    });
    const rec = recommend(p, forecast(p, horizon), horizon).find((r) => r.knob === 'storage capacity')!;
    expect(rec.change).toMatch(/^raise the media bucket quota to 3000 GB/);
    expect(rec.extraMonthlyUSD).toBeCloseTo(1500 * p.prices.storage.r2.storagePerGBMonth, 9);
    expect(rec.costItems[0]!.price).toBe('prices.storage.r2.storagePerGBMonth');
  });

  it('growth of 12 % a month: one new Sidekiq process for the whole pool, priced as its vCPU', () => {
    const p = modelProfile((x) => {
      x.growth.monthlyActiveUserGrowth = 0.12;
      x.prices.computePerVcpuMonth = 20;
    });
    const base = forecast(p, horizon);
    const recs = recommend(p, base, horizon);
    const processes = recs.filter((r) => r.knob === 'extra Sidekiq process');
    expect(processes).toHaveLength(1);
    const rec = processes[0]!;
    // Every queue but scheduler, with Mastodon's weights, in one command line.
    expect(rec.change).toContain('`sidekiq -c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull`');
    expect(rec.componentId).toBe(POOL);
    expect(rec.componentIds).toContain(POOL);
    // No queue gets a recommendation of its own: none breaks before its pool does.
    expect(recs.flatMap((r) => r.componentIds).filter((id) => id.startsWith('sidekiq-queue:'))).toEqual([]);
    expect(rec.costItems).toEqual([
      { unit: 'vCPU', quantity: 1, usdPerUnitMonth: 20, price: 'prices.computePerVcpuMonth' },
    ]);
    expect(rec.extraMonthlyUSD).toBe(20);
    // One recommendation per distinct change.
    expect(new Set(recs.map((r) => r.change)).size).toBe(recs.length);
  });

  it('the new process gets the vCPU it is billed for', () => {
    const p = modelProfile((x) => (x.growth.monthlyActiveUserGrowth = 0.12));
    const plan = planInfrastructure(p);
    const pool = plan.pools[0]!;
    const change = candidateChanges(p, plan, pool.identity.ref).find(
      (c) => c.knob === 'extra Sidekiq process',
    )!;
    const after = change.apply(p);
    expect(after.infrastructure.hosts.find((h) => h.name === 'app')!.cores).toBe(8 + change.extraVcpus);
    expect(after.infrastructure.sidekiq).toHaveLength(2);
    expect(p.infrastructure.hosts.find((h) => h.name === 'app')!.cores).toBe(8);
  });

  it('queues that break on their own share one process serving just them', () => {
    // Tight latency limits for pull and default: both break on their own while the pool still copes.
    const p = modelProfile((x) => {
      x.growth.monthlyActiveUserGrowth = 0.08;
      x.slo.queueLatencySec.pull = 0.02;
      x.slo.queueLatencySec.default = 0.02;
      x.slo.maxUtilization = 0.95;
    });
    const short = { months: 18, start: '2026-12' };
    const base = forecast(p, short);
    expect(base.saturation.get(POOL)).toBeNull();
    const own = (id: string) => base.saturation.get(id)?.binding;
    expect(own('sidekiq-queue:pull')).toMatchObject({ kind: 'queue-wait', queue: 'pull' });
    expect(own('sidekiq-queue:default')).toMatchObject({ kind: 'queue-wait', queue: 'default' });
    const sidekiq = recommend(p, base, short).filter((r) =>
      r.componentIds.some((id) => id.startsWith('sidekiq')),
    );
    expect(sidekiq).toHaveLength(1);
    expect(sidekiq[0]!.componentIds.sort()).toEqual(['sidekiq-queue:default', 'sidekiq-queue:pull']);
    const candidates = candidateChanges(
      p,
      planInfrastructure(p),
      { kind: 'sidekiq-queue', queue: 'pull' },
      queuesNeedingAProcess(planInfrastructure(p), [
        { kind: 'sidekiq-queue', queue: 'pull' },
        { kind: 'sidekiq-queue', queue: 'default' },
      ]),
    );
    expect(candidates.find((c) => c.knob === 'extra Sidekiq process')!.description).toContain(
      '`sidekiq -c 25 -q default,8 -q pull`',
    );
  });
});

describe('--method simulate agrees with the analytic forecast', () => {
  it('same saturated components and utilizations within a few percent at month 0', () => {
    const p = modelProfile((x) => (x.accounts.dailyActive *= 2));
    const short = { months: 3, start: '2026-11' };
    const analytic = forecast(p, { ...short, waitModel: analyticWaits }).months[0]!;
    const simulated = forecast(p, { ...short, waitModel: simulatedWaits(seededRng(2), 20_000) }).months[0]!;
    for (const c of analytic.components) {
      const s = simulated.components.find((x) => x.id === c.id)!;
      // Thread utilization measured over 20k jobs: statistical error of a few percent.
      expect(s.utilization, c.id).toBeCloseTo(c.utilization, 1);
      expect(s.broken, c.id).toBe(c.broken);
    }
  });
});

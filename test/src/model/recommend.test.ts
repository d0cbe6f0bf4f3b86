import { describe, expect, it } from 'vitest';
import { forecast } from '../../../src/model/forecast.js';
import { recommend } from '../../../src/model/recommend.js';
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

/**
 * Profile → rates: the scenarios read the profile file as JSON and call the
 * model's own workloadAt (compiled, via scenarios/lib/model.js); these tests
 * prove that path gives exactly the rates of the forecast's path
 * (src/profile/load → resolveQuantities → src/model/workload), and that the
 * k6 options built from them say the same thing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE_PATH, loadProfile, parseProfile } from '../../src/profile/load.js';
import { resolveQuantities } from '../../src/shared/quantity.js';
import { resolveQuantityDocuments } from '../../scenarios/lib/model.js';
import { workloadAt } from '../../src/model/workload.js';
import { constantRate, rampingSteps, sloThresholds } from '../../scenarios/lib/options.ts';
import { arrivalRate, profileRates, workloadOfDocument } from '../../scenarios/lib/rates.ts';

const raw = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as Record<string, unknown>;
const model = resolveQuantities(loadProfile());

/** The default profile with a relay, written as a user would (bare numbers and annotated quantities). */
function withRelay(): Record<string, unknown> {
  const doc = structuredClone(raw);
  doc.relays = [
    {
      name: 'relay.example',
      postsPerHour: 10800,
      mediaFraction: 0.3,
      linkFraction: 0.2,
      announceFraction: { value: 0.4, range: [0.2, 0.6], source: 'assumption' },
      coldActorFraction: 0.3,
      startMonth: 0,
    },
    {
      name: 'later.example',
      postsPerHour: 500,
      mediaFraction: 0.1,
      linkFraction: 0.1,
      announceFraction: 0.5,
      coldActorFraction: 0.5,
      startMonth: 3,
    },
  ];
  return doc;
}

describe("profile → rates with the model's own code", () => {
  it('the profile JSON resolved by the scenarios equals the model profile the forecast uses', () => {
    expect(resolveQuantityDocuments(raw)).toEqual(JSON.parse(JSON.stringify(model)));
  });

  it('workloadAt from the compiled model (dist) equals workloadAt from src, for the default profile and one with relays', () => {
    expect(workloadOfDocument(raw)).toEqual(workloadAt(model, 0));
    const doc = withRelay();
    const parsed = resolveQuantities(parseProfile(doc, 'test document')); // the forecast's path: the zod schema
    expect(workloadOfDocument(doc)).toEqual(workloadAt(parsed, 0));
  });

  it("web rates are the model's endpoint rates × peakToMeanRatio (mean with load=mean)", () => {
    const w = workloadAt(model, 0);
    const peak = profileRates(raw);
    const mean = profileRates(raw, 'mean');
    expect(peak.factor).toBe(model.activity.peakToMeanRatio);
    for (const e of w.web) {
      expect(mean.web[e.endpoint]).toBeCloseTo(e.ratePerSec, 12);
      expect(peak.web[e.endpoint]).toBeCloseTo(e.ratePerSec * model.activity.peakToMeanRatio, 12);
    }
    expect(mean.streaming.connections).toBeCloseTo(w.streaming.meanConnections, 12);
    expect(mean.slo).toEqual({
      webResponseSec: model.slo.webResponseSec,
      latencyPercentile: model.slo.latencyPercentile,
    });
  });

  it("inbound splits add up to the model's inbox and inbox-cold-actor rates", () => {
    for (const doc of [raw, withRelay()]) {
      const r = profileRates(doc, 'mean');
      const w = workloadOfDocument(doc);
      const inbox = w.web.find((e) => e.endpoint === 'inbox')!.ratePerSec;
      const cold = w.web.find((e) => e.endpoint === 'inbox-cold-actor')!.ratePerSec;
      expect(r.inbound.createsPerSec + r.inbound.otherPerSec + r.inbound.relayPerSec).toBeCloseTo(inbox, 12);
      expect(r.inbound.coldPerSec + r.inbound.relayColdPerSec).toBeCloseTo(cold, 12);
      expect(r.inbound.createsPerSec + r.inbound.relayPerSec).toBeCloseTo(
        w.perDay.remoteStatuses / 86_400,
        12,
      );
    }
    // default profile: 30,000 followed accounts × 1.2 posts a day, one interaction per post, 2 % cold
    const r = profileRates(raw, 'mean');
    expect(r.inbound.createsPerSec).toBeCloseTo(36_000 / 86_400, 12);
    expect(r.inbound.otherPerSec).toBeCloseTo(36_000 / 86_400, 12);
    expect(r.inbound.coldPerSec).toBeCloseTo((72_000 * 0.02) / 86_400, 12);
    expect(r.inbound.relayPerSec).toBe(0);
    // relays started by month 0 only: 10,800 posts an hour = 3/s
    expect(profileRates(withRelay(), 'mean').inbound.relayPerSec).toBeCloseTo(3, 12);
    expect(profileRates(withRelay(), 'mean').mix.relayAnnounceFraction).toBeCloseTo(0.4, 12);
  });
});

describe('k6 options from rates', () => {
  it('arrival rates are integer rates per time unit within a few percent', () => {
    for (const perSec of [0.0004, 0.004, 0.05, 0.4, 1.7, 12, 250]) {
      const { rate, timeUnit } = arrivalRate(perSec);
      expect(Number.isInteger(rate) && rate >= 1).toBe(true);
      const unitSec = timeUnit.endsWith('m')
        ? 60 * Number(timeUnit.slice(0, -1))
        : timeUnit.endsWith('h')
          ? 3600 * Number(timeUnit.slice(0, -1))
          : Number(timeUnit.slice(0, -1));
      const rel = Math.abs(rate / unitSec - perSec) / perSec;
      expect(rel, `${perSec}/s → ${rate} per ${timeUnit}`).toBeLessThan(perSec < 20 / 3600 ? 0.35 : 0.03);
    }
    expect(arrivalRate(0)).toEqual({ rate: 0, timeUnit: '1s' });
  });

  it('constant-arrival-rate and ramping steps carry the rate, the duration and enough VUs', () => {
    const c = constantRate('home', 1.5, 90, { iterationSec: 2 })!;
    expect(c).toMatchObject({
      executor: 'constant-arrival-rate',
      exec: 'home',
      rate: 90,
      timeUnit: '1m',
      duration: '90s',
      preAllocatedVUs: 3,
      maxVUs: 12,
    });
    expect(constantRate('none', 0, 60)).toBeUndefined();
    const r = rampingSteps('home', 2, 60, 3, 0.5, 2)!;
    expect(r.executor).toBe('ramping-arrival-rate');
    expect(r.stages.map((s) => s.target)).toEqual([60, 60, 150, 150, 240, 240]);
    expect(r.stages.map((s) => s.duration)).toEqual(['6s', '54s', '6s', '54s', '6s', '54s']);
    expect(r.startRate).toBe(60);
  });

  it("thresholds state the profile's SLOs per station and exclude 429s through capacity_errors", () => {
    const t = sloThresholds(profileRates(raw), ['timelines/home', 'inbox']);
    expect(t).toEqual({
      capacity_errors: ['rate<0.01'],
      'http_req_duration{station:timelines/home}': ['p(95)<1000'],
      'http_req_duration{station:inbox}': ['p(95)<1000'],
    });
  });
});

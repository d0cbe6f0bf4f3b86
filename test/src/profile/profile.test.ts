import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/shared/errors.js';
import { DEFAULT_PROFILE_PATH, loadProfile, parseProfile } from '../../../src/profile/load.js';
import { ASSUMPTION, isAssumption, listQuantities } from '../../../src/shared/quantity.js';
import { parseSidekiqCommand } from '../../../src/mastodon/sidekiqCommand.js';
import { profileDocs } from '../../../src/cli/profile.js';
import {
  SIDEKIQ_FRAMEWORK_CPU_SEC,
  SIDEKIQ_REDIS_CPU_SEC_PER_JOB,
} from '../../../src/mastodon/sidekiqCosts.js';
import { drawProfile } from '../../../src/model/uncertainty.js';
import { seededRng } from '../../../src/shared/random.js';
import { tempDir } from '../../support/helpers.js';

const rawDefault = () => JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8'));

function errorOf(doc: unknown): string {
  try {
    parseProfile(doc, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected the profile to be rejected');
}

describe('instance profile', () => {
  it('loads the embedded default with provenance on every quantity', () => {
    const profile = loadProfile();
    expect(profile.accounts.monthlyActive.value).toBe(4000);
    const quantities = listQuantities(profile);
    expect(quantities.length).toBeGreaterThan(100);
    for (const { path, quantity } of quantities) {
      expect(quantity.source, path).not.toBe('');
      if (isAssumption(quantity.source)) expect(quantity.high, path).toBeGreaterThan(quantity.low);
    }
    // Service demands are assumptions until measured.
    expect(profile.serviceDemands.jobs['ActivityPub::DeliveryWorker'].waitSec.source).toBe(ASSUMPTION);
  });

  it("carries Sidekiq's own costs as measured by bench:sidekiq, with ranges the Monte Carlo samples", () => {
    const { sidekiqFrameworkCpuSec: framework, redisCpuSecPerJob: redis } = loadProfile().serviceDemands;
    expect(framework.value).toBe(SIDEKIQ_FRAMEWORK_CPU_SEC);
    expect(redis.value).toBe(SIDEKIQ_REDIS_CPU_SEC_PER_JOB);
    expect([framework.low, framework.high]).toEqual([0.0002, 0.003]);
    expect([redis.low, redis.high]).toEqual([0.00002, 0.0001]);
    for (const q of [framework, redis]) {
      expect(isAssumption(q.source)).toBe(false);
      expect(q.source).toMatch(/ruby-sidekiq 6\.4\.1.*npm run bench:sidekiq.*2026-12-03/);
    }
    const rng = seededRng(1);
    const profile = loadProfile();
    const drawn = Array.from({ length: 200 }, () => drawProfile(profile, rng).serviceDemands);
    const frameworkDraws = drawn.map((d) => d.sidekiqFrameworkCpuSec);
    expect(Math.min(...frameworkDraws)).toBeGreaterThanOrEqual(0.0002);
    expect(Math.max(...frameworkDraws)).toBeLessThanOrEqual(0.003);
    expect(new Set(frameworkDraws).size).toBe(200);
    expect(new Set(drawn.map((d) => d.redisCpuSecPerJob)).size).toBe(200);
  });

  it('calls a source an assumption only when it is "assumption", optionally followed by "; why" or ": why"', () => {
    for (const source of ['assumption', 'assumption; masto.host figures', 'assumption: list price']) {
      expect(isAssumption(source), source).toBe(true);
    }
    // A citation that merely starts with the word is not one: the schema would not ask it for a range.
    for (const source of [
      'Assumption-free: measured run r1',
      'assumptions.md',
      'profile',
      'run r1 (5120 samples)',
    ]) {
      expect(isAssumption(source), source).toBe(false);
    }
  });

  it("takes a bare number as the admin's own figure", () => {
    const doc = rawDefault();
    doc.accounts.dailyActive = 900;
    const q = parseProfile(doc, 'x').accounts.dailyActive;
    expect(q).toEqual({ value: 900, low: 900, high: 900, source: 'profile' });
  });

  it('rejects an unknown field, naming its path', () => {
    const doc = rawDefault();
    doc.activity.postsPerWeek = 3;
    const msg = errorOf(doc);
    expect(msg).toContain('profile test.json: invalid');
    expect(msg).toMatch(/activity: Unrecognized key: "postsPerWeek"/);
  });

  it('rejects a negative rate, naming its path', () => {
    const doc = rawDefault();
    doc.activity.postsPerDay = -1;
    expect(errorOf(doc)).toMatch(/activity\.postsPerDay: .*>=0/);
  });

  it('rejects an assumption without a range, and a range that misses its value', () => {
    const doc = rawDefault();
    doc.activity.postsPerDay = { value: 2, source: 'assumption' };
    doc.activity.repliesPerDay = { value: 9, range: [1, 2], source: 'assumption' };
    const msg = errorOf(doc);
    expect(msg).toMatch(/activity\.postsPerDay: an "assumption" needs a "range"/);
    expect(msg).toMatch(/activity\.repliesPerDay: range \[1, 2\] must contain value 9/);
  });

  it('cross-checks the accounts: daily active ≤ monthly active ≤ accounts', () => {
    const doc = rawDefault();
    doc.accounts.totalLocal = 3000;
    doc.accounts.dailyActive = { value: 5000, range: [4000, 6000], source: 'assumption' };
    const msg = errorOf(doc);
    expect(msg).toMatch(
      /accounts\.monthlyActive: 4000 monthly active users exceed the 3000 accounts \(accounts\.totalLocal\)/,
    );
    expect(msg).toMatch(
      /accounts\.dailyActive: 5000 daily active users exceed the 4000 monthly active \(accounts\.monthlyActive\)/,
    );
    const equal = rawDefault();
    equal.accounts.totalLocal = 4000;
    equal.accounts.dailyActive = 4000;
    expect(parseProfile(equal, 'equal.json').accounts.dailyActive.value).toBe(4000);
  });

  it('refuses magnitudes beyond sane bounds, naming the bound', () => {
    const doc = rawDefault();
    doc.accounts.totalLocal = 2e8;
    doc.accounts.monthlyActive = 1e300;
    doc.activity.postsPerDay = { value: 1e13, range: [1, 1e13], source: 'assumption' };
    doc.relays = [
      {
        name: 'relay.example',
        postsPerHour: 100,
        mediaFraction: 0.3,
        linkFraction: 0.2,
        announceFraction: 0.2,
        coldActorFraction: 0.3,
        startMonth: 121,
      },
    ];
    const msg = errorOf(doc);
    expect(msg).toMatch(
      /accounts\.totalLocal: must be at most 100000000 \(sane bound for one instance's accounts\)/,
    );
    expect(msg).toMatch(/accounts\.monthlyActive: must be at most 100000000/);
    expect(msg).toMatch(
      /activity\.postsPerDay\.value: must be at most 1000000000000 \(sane bound for any count, rate or size\)/,
    );
    expect(msg).toMatch(/relays\.0\.startMonth: must be at most 120 \(the longest forecast horizon\)/);
  });

  it('checks references between sections: hosts, queues covered, one scheduler', () => {
    const doc = rawDefault();
    doc.infrastructure.puma.host = 'nowhere';
    doc.infrastructure.sidekiq = [
      { host: 'app', processes: 2, command: '-c 10 -q default -q scheduler', dbPool: 10 },
    ];
    const msg = errorOf(doc);
    expect(msg).toMatch(/infrastructure\.puma\.host: unknown host "nowhere"/);
    expect(msg).toMatch(/no Sidekiq process serves queue\(s\) push, ingress, mailers, pull/);
    expect(msg).toMatch(/scheduler queue must be served by exactly one process, found 2/);
  });

  it('rejects a malformed Sidekiq command', () => {
    const doc = rawDefault();
    doc.infrastructure.sidekiq[0].command = '-c 25 -q fast';
    expect(errorOf(doc)).toMatch(/infrastructure\.sidekiq\.0\.command: unknown queue "fast"/);
  });

  it('names the file on malformed JSON and on a missing file', () => {
    const dir = tempDir('fedicap-');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "name": ');
    expect(() => loadProfile(bad)).toThrow(new RegExp(`profile ${bad}: not valid JSON`));
    expect(() => loadProfile(join(dir, 'missing.json'))).toThrow(/cannot read \(ENOENT\)/);
  });

  it('docs/profile.md is generated from the schema and up to date', () => {
    const committed = readFileSync(new URL('../../../docs/profile.md', import.meta.url), 'utf8');
    expect(committed).toBe(profileDocs());
    expect(committed).toContain('`serviceDemands.jobs.ActivityPub::DeliveryWorker.waitSec`');
  });
});

describe('sidekiq command', () => {
  it('parses threads and weighted queues like a systemd unit', () => {
    expect(parseSidekiqCommand('-c 25 -q push,6 -q pull')).toEqual({
      threads: 25,
      queues: [
        { name: 'push', weight: 6 },
        { name: 'pull', weight: 1 },
      ],
    });
  });
  it("defaults to Sidekiq's concurrency 5 and Mastodon's sidekiq.yml queues", () => {
    const args = parseSidekiqCommand('');
    expect(args).toMatchObject({ threads: 5 });
    expect('queues' in args && args.queues.find((q) => q.name === 'default')?.weight).toBe(8);
  });
  it('explains a bad argument', () => {
    expect(parseSidekiqCommand('-c zero')).toEqual({ error: '"-c" needs a positive integer, got "zero"' });
    expect(parseSidekiqCommand('-x')).toMatchObject({
      error: expect.stringContaining('unsupported argument "-x"'),
    });
  });
});

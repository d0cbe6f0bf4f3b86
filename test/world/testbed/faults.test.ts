import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/shared/errors.js';
import { createLocalAccounts, type LocalAccount } from '../../../world/testbed/accounts.js';
import { burnCpuMs, parseFaults, withInjectedCpu } from '../../../world/testbed/faults.js';
import type { WorkerClass } from '../../../world/testbed/sidekiq/types.js';
import { MAIN } from '../../support/paths.js';
import { startTestTestbed, type TestbedFixture } from '../../support/testbed.js';

const cpuMsNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

describe('injected faults: parsing', () => {
  it('reads CLASS=MS pairs of both flags', () => {
    expect(parseFaults(['timelines/home=20ms', 'inbox=5'], ['FeedInsertWorker=2.5ms'])).toEqual({
      delayMs: { 'timelines/home': 20, inbox: 5 },
      cpuMs: { FeedInsertWorker: 2.5 },
    });
    expect(parseFaults([], [])).toBeUndefined();
  });

  it('refuses unknown classes, bad values and repeats, naming the flag', () => {
    for (const [delays, cpu, pattern] of [
      [['timelines/homes=20'], [], /--inject-delay "timelines\/homes=20": unknown class "timelines\/homes"/],
      [['timelines/home'], [], /--inject-delay "timelines\/home": expected CLASS=MS/],
      [['timelines/home=0'], [], /expected more than 0 and at most 10000 ms/],
      [['timelines/home=20s'], [], /expected CLASS=MS/],
      [['inbox-cold-actor=5'], [], /inbox-cold-actor is the inbox route meeting a new actor/],
      [['inbox=5', 'inbox=6'], [], /--inject-delay: inbox is given twice/],
      [[], ['FeedInsertWorkr=2'], /--inject-cpu "FeedInsertWorkr=2": unknown class/],
      [[], ['FeedInsertWorker=20000'], /--inject-cpu .*at most 10000 ms/],
    ] as const) {
      expect(() => parseFaults(delays, cpu)).toThrow(InputError);
      expect(() => parseFaults(delays, cpu)).toThrow(pattern);
    }
  });

  it('fedicap testbed exits 2 on a bad fault flag before starting anything', () => {
    for (const [args, pattern] of [
      [['--inject-delay', 'timeline/home=20ms'], /--inject-delay "timeline\/home=20ms": unknown class/],
      [['--inject-cpu', 'FeedInsertWorker=-1'], /--inject-cpu "FeedInsertWorker=-1": expected CLASS=MS/],
    ] as const) {
      const r = spawnSync(process.execPath, [MAIN, 'testbed', '--port', '0', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('injected CPU', () => {
  it('burns process CPU time, not wall time asleep', () => {
    // Asleep, the process would use next to no CPU. (Its CPU also counts its other threads, GC and the
    // test runner's, so the wall time may be shorter than the CPU used: it is not compared.)
    const cpu0 = cpuMsNow();
    const used = burnCpuMs(30);
    const cpu = cpuMsNow() - cpu0;
    expect(used).toBeGreaterThanOrEqual(30);
    expect(cpu).toBeGreaterThanOrEqual(30);
  });

  it('wraps only the faulted class, which still performs', async () => {
    const performed: string[] = [];
    const worker = (name: string): WorkerClass => ({
      queue: 'default',
      retry: true,
      perform: async () => void performed.push(name),
    });
    const workers = { FeedInsertWorker: worker('feed'), DistributionWorker: worker('distribution') };
    const wrapped = withInjectedCpu(workers, { delayMs: {}, cpuMs: { FeedInsertWorker: 15 } });
    expect(wrapped.DistributionWorker).toBe(workers.DistributionWorker);
    let cpu0 = cpuMsNow();
    await wrapped.FeedInsertWorker.perform([], { jid: 'a', queue: 'default', retryCount: 0 });
    expect(cpuMsNow() - cpu0).toBeGreaterThanOrEqual(15);
    cpu0 = cpuMsNow();
    await wrapped.DistributionWorker.perform([], { jid: 'b', queue: 'default', retryCount: 0 });
    expect(cpuMsNow() - cpu0).toBeLessThan(15);
    expect(performed).toEqual(['feed', 'distribution']);
  });
});

describe('injected delay on a running testbed', () => {
  let fx: TestbedFixture;
  let account: LocalAccount;

  beforeAll(async () => {
    fx = await startTestTestbed({
      rateLimits: false,
      webConcurrency: 1,
      faults: { delayMs: { 'timelines/home': 150 }, cpuMs: {} },
    });
    account = (await createLocalAccounts(fx.tb, 1, 'fault'))[0]!;
  }, 90_000);

  afterAll(async () => {
    await fx?.stop();
  });

  it('holds the delayed class 150 ms longer, and only that class', async () => {
    const timed = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(`${fx.url}${path}`, {
        headers: { authorization: `Bearer ${account.token}` },
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
      return performance.now() - t0;
    };
    const median = async (path: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) ms.push(await timed(path));
      return ms.sort((a, b) => a - b)[2]!;
    };
    await timed('/api/v1/timelines/public'); // warm-up: first queries, JIT
    const home = await median('/api/v1/timelines/home');
    const pub = await median('/api/v1/timelines/public');
    expect(home).toBeGreaterThanOrEqual(150);
    expect(home - pub).toBeGreaterThan(100);
    expect(pub).toBeLessThan(150);
  }, 60_000);
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE_PATH } from '../../../src/profile/load.js';
import { tempDir } from '../../support/helpers.js';
import { MAIN } from '../../support/paths.js';

/** The built CLI, as users run it (the test command builds first). */

function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => tempDir('fedicap-cli-');
const defaultDoc = () => JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8'));

function expectInputError(r: ReturnType<typeof fedicap>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe('');
}

describe('fedicap forecast', () => {
  it('with no options prints the Markdown report of the embedded profile', () => {
    const r = fedicap('forecast', '--draws', '50');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mid-size default');
    expect(r.stdout).toMatch(/uncalibrated|assumed service demands/i);
  });

  it('JSON follows the contract', () => {
    const r = fedicap(
      'forecast',
      '--format',
      'json',
      '--draws',
      '100',
      '--start',
      '2026-11',
      '--months',
      '12',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.months).toHaveLength(12);
    const kinds = ['sidekiq-queue', 'sidekiq-process', 'postgres', 'web', 'streaming', 'redis', 'storage'];
    for (const c of report.components) {
      expect(kinds).toContain(c.kind);
      expect(typeof c.id).toBe('string');
      expect(typeof c.utilization).toBe('number');
      if (c.saturation !== null) {
        expect(Object.keys(c.saturation).sort()).toEqual([
          'date',
          'month',
          'p10Date',
          'p50Date',
          'p90Date',
          'reason',
        ]);
      }
      // the draws' median date exists exactly when more than half of the draws saturate
      expect(c.p50Date !== null, c.id).toBe(c.saturationProbability > 0.5);
    }
    for (const a of report.assumptions) {
      expect(typeof a.path).toBe('string');
      expect(typeof a.value).toBe('number');
      expect(typeof a.source).toBe('string');
    }
    expect(Array.isArray(report.recommendations)).toBe(true);
  });

  it('the same seed gives the same bands', () => {
    const a = fedicap(
      'forecast',
      '--format',
      'json',
      '--draws',
      '200',
      '--seed',
      '7',
      '--start',
      '2026-11',
      '--growth',
      '0.12',
    );
    const b = fedicap(
      'forecast',
      '--format',
      'json',
      '--draws',
      '200',
      '--seed',
      '7',
      '--start',
      '2026-11',
      '--growth',
      '0.12',
    );
    expect(JSON.parse(a.stdout).components).toEqual(JSON.parse(b.stdout).components);
  });

  it('--out writes the file and nothing else', () => {
    const dir = tmp();
    const r = fedicap('forecast', '--format', 'csv', '--draws', '0', '--out', dir, '--months', '6');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['forecast.csv']);
    const lines = readFileSync(join(dir, 'forecast.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'month,date,component,kind,utilization,latency_sec,latency_limit_sec,broken,daily_active,monthly_active,' +
        'recommendation,new_saturation_date,extra_monthly_usd',
    );
    const components = new Set(lines.slice(1).map((l) => l.split(',')[2]));
    expect(lines.length - 1).toBe(6 * components.size);
  });

  it('a malformed profile: one message naming the file, exit 2, no output file', () => {
    const dir = tmp();
    const file = join(dir, 'p.json');
    writeFileSync(file, '{"name": "x",');
    const out = join(dir, 'out');
    expectInputError(
      fedicap('forecast', '--profile', file, '--out', out),
      new RegExp(`profile ${file}: not valid JSON`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown field and a negative rate are named by path', () => {
    const dir = tmp();
    const doc = defaultDoc();
    doc.accounts.bots = 3;
    doc.activity.favouritesPerDay = -2;
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = fedicap('forecast', '--profile', file);
    expectInputError(r, /accounts: Unrecognized key: "bots"/);
    expect(r.stderr).toMatch(/activity\.favouritesPerDay: Too small/);
  });

  it('a profile that cannot be: more daily than monthly active, a magnitude beyond its bound, a relay after the horizon', () => {
    const dir = tmp();
    const write = (name: string, edit: (doc: ReturnType<typeof defaultDoc>) => void) => {
      const doc = defaultDoc();
      edit(doc);
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(doc));
      return file;
    };
    const daily = write('daily.json', (d) => {
      d.accounts.dailyActive = 5000;
    });
    expectInputError(
      fedicap('forecast', '--profile', daily),
      /profile .*daily\.json: invalid\n {2}accounts\.dailyActive: 5000 daily active users exceed the 4000 monthly active/,
    );
    const huge = write('huge.json', (d) => {
      d.accounts.monthlyActive = 1e300;
    });
    expectInputError(
      fedicap('forecast', '--profile', huge),
      /accounts\.monthlyActive: must be at most 100000000 \(sane bound for one instance's accounts\)/,
    );
    const late = write('late.json', (d) => {
      d.relays = [
        {
          name: 'relay.example',
          postsPerHour: 100,
          mediaFraction: 0.3,
          linkFraction: 0.2,
          announceFraction: 0.2,
          coldActorFraction: 0.3,
          startMonth: 30,
        },
      ];
    });
    expectInputError(
      fedicap('forecast', '--profile', late, '--months', '24'),
      /^fedicap: profile .*late\.json: relays\.0\.startMonth: month 30 is beyond the forecast horizon \(--months 24 covers months 0–23\)/,
    );
    expect(fedicap('forecast', '--profile', late, '--months', '31', '--draws', '0').code).toBe(0);
    expectInputError(
      fedicap('forecast', '--relay', 'r.example:100:0.2:12', '--months', '12'),
      /--relay r\.example:100:0\.2:12: START_MONTH: month 12 is beyond the forecast horizon/,
    );
    expectInputError(
      fedicap('forecast', '--relay', 'r.example:1e300'),
      /--relay "r\.example:1e300": posts per hour must be a number from 0 to 1e12/,
    );
  });

  it('a bad --relay names the argument and the expected form', () => {
    expectInputError(
      fedicap('forecast', '--relay', 'big.relay:lots'),
      /--relay "big.relay:lots": posts per hour must be a number/,
    );
    expectInputError(fedicap('forecast', '--relay', 'r:100:1.5'), /media fraction must be between 0 and 1/);
  });

  it('unknown options and bad numbers are input errors', () => {
    expectInputError(fedicap('forecast', '--monthz', '3'), /Unknown argument: monthz/);
    expectInputError(fedicap('forecast', '--months', '0'), /--months must be an integer from 1 to 120/);
    expectInputError(
      fedicap('forecast', '--calibration', '/nonexistent/cal.json'),
      /calibration \/nonexistent\/cal.json: cannot read/,
    );
  });
});

describe('fedicap whatif relay', () => {
  it('gives before and after, with more ingress after joining', () => {
    const r = fedicap(
      'whatif',
      'relay',
      '--posts-per-hour',
      '3600',
      '--media-fraction',
      '0.4',
      '--format',
      'json',
      '--draws',
      '0',
    );
    expect(r.code, r.stderr).toBe(0);
    const { before, after } = JSON.parse(r.stdout);
    const ingress = (x: { months: { queues: { queue: string; jobsPerSec: number }[] }[] }) =>
      x.months[0]!.queues.find((q) => q.queue === 'ingress')!.jobsPerSec;
    expect(ingress(after) - ingress(before)).toBeCloseTo(1, 6); // 3600 posts/h = 1/s
    expect(after.months[0].storage.remoteMediaCacheGB).toBeGreaterThan(
      before.months[0].storage.remoteMediaCacheGB,
    );
  });

  it('requires --posts-per-hour', () => {
    expectInputError(fedicap('whatif', 'relay'), /Missing required argument: posts-per-hour/);
  });
});

describe('fedicap queue', () => {
  it('answers M/M/c for one station, and the servers needed for a wait target', () => {
    // 10 Erlangs on 11 servers: Erlang C ≈ 0.6821 (standard Erlang C tables).
    const r = fedicap(
      'queue',
      '--arrival-rate',
      '10',
      '--service-time',
      '1',
      '--servers',
      '11',
      '--target-wait',
      '0.1',
      '--format',
      'json',
    );
    expect(r.code, r.stderr).toBe(0);
    const q = JSON.parse(r.stdout);
    expect(q.utilization).toBeCloseTo(10 / 11, 9);
    expect(q.probabilityOfWait).toBeCloseTo(0.6821, 3);
    expect(q.meanWaitSec).toBeCloseTo(0.6821 / (11 - 10), 3);
    expect(q.meanResponseSec).toBeCloseTo(q.meanWaitSec + 1, 9);
    expect(q.serversNeeded).toBeGreaterThan(11);
  });

  it('rejects a non-integer server count', () => {
    expectInputError(
      fedicap('queue', '--arrival-rate', '1', '--service-time', '1', '--servers', '2.5'),
      /--servers must be an integer >= 1/,
    );
  });
});

describe('fedicap queue sidekiq', () => {
  const sidekiq = (...args: string[]) => fedicap('queue', 'sidekiq', '--host-cores', '2', ...args);
  /** A CPU-bound job (10 ms of Ruby CPU, no I/O, 0.5 ms of framework CPU, Redis elsewhere), as JSON. */
  const cpuBound = (...args: string[]) =>
    JSON.parse(
      sidekiq(
        ...'--cpu-ms 10 --wait-ms 0 --framework-cpu-ms 0.5 --redis-elsewhere --format json'.split(' '),
        ...args,
      ).stdout,
    );

  it('a CPU-bound job: one process gives one core, whatever -c says; three processes share the two cores', () => {
    // The lock allows 1/10.5 ms = 95.2 jobs/s per process.
    const one = cpuBound('--threads', '25');
    expect(one.maxThroughputPerSec).toBeCloseTo(1000 / 10.5, 6);
    expect(one.bottleneck).toBe('interpreter-lock');
    expect(one.frameworkCpuMs).toBe(0.5);
    const three = cpuBound('--processes', '3', '--threads', '5');
    // Two cores: at most 2/10.5 ms = 190.5 jobs/s.
    expect(three.maxThroughputPerSec).toBeCloseTo(2000 / 10.5, 0);
    expect(three.bottleneck).toBe('host-cores');
  });

  it('with an arrival rate: the queue wait, and in words what binds', () => {
    const r = sidekiq('--threads', '2', '--cpu-ms', '1', '--wait-ms', '200', '--arrival-rate', '8');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bottleneck +threads: 1 × -c 2 are all busy/);
    expect(r.stdout).toMatch(/p95 wait +[\d.]+ ms/);
    const overloaded = JSON.parse(
      sidekiq(
        '--threads',
        '2',
        '--cpu-ms',
        '1',
        '--wait-ms',
        '200',
        '--arrival-rate',
        '20',
        '--format',
        'json',
      ).stdout,
    );
    expect(overloaded.stable).toBe(false);
    expect(overloaded.p95WaitSec).toBeNull();
  });

  it('rejects impossible pools with the flag named', () => {
    expectInputError(
      sidekiq('--threads', '0', '--cpu-ms', '1', '--wait-ms', '1'),
      /--threads must be an integer from 1 to 1000, got 0/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', '-1', '--wait-ms', '1'),
      /--cpu-ms must be a number of milliseconds >= 0, got -1/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--processes', '500', '--cpu-ms', '1', '--wait-ms', '1'),
      /--processes must be an integer from 1 to 64/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', 'NaN', '--wait-ms', '1'),
      /--cpu-ms must be a number/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', '0', '--wait-ms', '0', '--framework-cpu-ms', '0'),
      /all 0/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', '1', '--wait-ms', '1', '--time-scv', '-0.5'),
      /--time-scv must be a number from 0 \(fixed times\) to 100, got -0.5/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', '1', '--wait-ms', '1', '--handoff-ms', '-2'),
      /--handoff-ms must be a number of milliseconds >= 0, got -2/,
    );
    expectInputError(
      sidekiq('--threads', '5', '--cpu-ms', '1', '--wait-ms', '1', '--pickup-ms', 'x'),
      /--pickup-ms must be a number of milliseconds >= 0/,
    );
  });

  it('a CPU-bound pool waits for its lock: the p95 wait falls with a second process, not with more -c', () => {
    const p95 = (...args: string[]) => cpuBound('--arrival-rate', '80', ...args).p95WaitSec as number;
    const c10 = p95('--threads', '10');
    expect(p95('--threads', '20')).toBeGreaterThan(c10 * 0.9);
    expect(p95('--threads', '5', '--processes', '2')).toBeLessThan(c10 / 2);
    // Fixed job times queue half as long; the host's wakeup and handoff costs lower the capacity.
    expect(p95('--threads', '10', '--time-scv', '0')).toBeLessThan(c10 * 0.6);
    // A job that finds a thread idle pays the pickup: at light load the p95 is the pickup itself.
    const light = cpuBound('--threads', '10', '--pickup-ms', '3', '--arrival-rate', '1');
    expect(light.p95WaitSec).toBeCloseTo(0.003, 6);
    const costly = cpuBound('--processes', '2', '--threads', '2', '--handoff-ms', '1', '--wakeup-ms', '0.5');
    expect(costly.maxThroughputPerSec).toBeLessThan(
      cpuBound('--processes', '2', '--threads', '2').maxThroughputPerSec,
    );
  });
});

describe('fedicap profile check', () => {
  it('takes the file as FILE or as --profile, as the other commands do, and refuses two different ones', () => {
    const dir = tmp();
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(defaultDoc()));
    for (const args of [[file], ['--profile', file], [file, '--profile', file]]) {
      const r = fedicap('profile', 'check', ...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${file}: valid \\(\\d+ quantities, \\d+ assumptions\\)\n$`));
    }
    expectInputError(
      fedicap('profile', 'check', file, '--profile', join(dir, 'other.json')),
      /profile check: give the file once, as FILE or as --profile/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ ...defaultDoc(), accounts: { ...defaultDoc().accounts, dailyActive: 9000 } }),
    );
    expectInputError(
      fedicap('profile', 'check', '--profile', bad),
      /accounts\.dailyActive: 9000 daily active users exceed/,
    );
  });
});

describe('a reader that goes away (`fedicap … | head`)', () => {
  /** Run the CLI with its stdout's reading end closed before it writes: every write fails with EPIPE. */
  function withClosedStdout(...args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it.each([
    [['forecast', '--format', 'json', '--draws', '50']],
    [['forecast', '--draws', '50']],
    [['profile', 'schema']],
    [['profile', 'docs']],
  ])('%j ends quietly with status 0', async (args) => {
    const r = await withClosedStdout(...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

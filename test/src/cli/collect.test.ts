import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { tempDir, waitFor } from '../../support/helpers.js';
import {
  claimRedisDb,
  createTestDatabase,
  dropTestDatabase,
  REDIS_URL,
  testDatabaseUrl,
} from '../../support/isolation.js';
import { MAIN } from '../../support/paths.js';

/** A database of this file's own (the collector only reads its statistics views). */
let pgDatabase: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI without blocking this process; `child` lets a test signal it. */
function fedicap(args: string[]): { child: ChildProcess; result: Promise<Result> } {
  const child = spawn(process.execPath, [MAIN, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const result = new Promise<Result>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, result };
}

const readSamples = (path: string): Sample[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Sample);

let claim: Awaited<ReturnType<typeof claimRedisDb>>;
let sidekiqUrl: string;
let sleeper: ChildProcess;
beforeAll(async () => {
  pgDatabase = await createTestDatabase();
  claim = await claimRedisDb();
  sidekiqUrl = `${REDIS_URL}/${claim.index}`;
  const redis = new Redis(sidekiqUrl);
  await redis.sadd('queues', 'push');
  const enqueuedAt = Date.now() / 1000 - 5;
  await redis.lpush(
    'queue:push',
    JSON.stringify({ class: 'X', args: [], jid: 'j', enqueued_at: enqueuedAt }),
  );
  await redis.set('stat:processed', '17');
  redis.disconnect();
  sleeper = spawn('sleep', ['60']);
});
afterAll(async () => {
  sleeper?.kill();
  await claim?.release();
  if (pgDatabase) await dropTestDatabase(pgDatabase);
});

describe('fedicap collect', () => {
  it('samples Sidekiq’s Redis, Redis INFO, PostgreSQL, a process and a media directory for the duration into --out', async () => {
    const dir = tempDir('fedicap-collect-cli-');
    const media = join(dir, 'media');
    mkdirSync(media);
    writeFileSync(join(media, 'a.png'), Buffer.alloc(1234));
    const out = join(dir, 'samples.ndjson');
    const { result } = fedicap([
      'collect',
      '--sidekiq-redis',
      sidekiqUrl,
      '--redis-url',
      sidekiqUrl,
      '--database-url',
      testDatabaseUrl(pgDatabase),
      '--process',
      `sleeper=${sleeper.pid}`,
      '--media-dir',
      media,
      '--interval',
      '250ms',
      '--duration',
      '1s',
      '--out',
      out,
    ]);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['media', 'samples.ndjson']);
    const samples = readSamples(out);
    const bySource = (source: string) => samples.filter((s) => s.source === source);
    expect(new Set(samples.map((s) => s.source))).toEqual(
      new Set(['sidekiq', 'redis', 'postgres', 'process', 'storage']),
    );
    expect(samples.filter((s) => s.metric === 'source_up')).toEqual([]);
    const ticks = bySource('storage').filter((s) => s.metric === 'storage_bytes');
    // 1 s at 250 ms: 4 ticks (3 if a loaded host made the collector skip one; the summary counts it).
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.length).toBeLessThanOrEqual(4);
    expect(ticks.every((s) => s.value === 1234 && s.labels.dir === media)).toBe(true);
    const latency = samples.filter((s) => s.metric === 'sidekiq_queue_latency_seconds');
    expect(latency.length).toBe(ticks.length);
    expect(latency.every((s) => s.value >= 5 && s.value < 30 && s.labels.queue === 'push')).toBe(true);
    expect(samples.filter((s) => s.metric === 'sidekiq_processed_total').map((s) => s.value)).toEqual(
      ticks.map(() => 17),
    );
    expect(bySource('process').filter((s) => s.metric === 'process_resident_bytes').length).toBe(
      ticks.length,
    );
    expect(r.stdout).toContain(`wrote ${samples.length} lines to ${out}`);
    expect(r.stdout).toMatch(/sidekiq redis:\/\/127\.0\.0\.1:\d+\/\d+: \d+ samples, 0 gaps, 0 skipped ticks/);
    // Not a terminal: plain status lines on stderr, the last with every source up.
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /collect 1s \| \d+ samples \| sidekiq .* up, process .* up/,
    );
  });

  it('stops at SIGTERM and keeps what it sampled; a source that is down is recorded as gaps without its password', async () => {
    const dir = tempDir('fedicap-collect-cli-');
    const out = join(dir, 'samples.ndjson');
    const { child, result } = fedicap([
      'collect',
      '--sidekiq-redis',
      'redis://:hunter2@127.0.0.1:1/0',
      '--media-dir',
      dir,
      '--interval',
      '100ms',
      '--out',
      out,
    ]);
    await waitFor(
      () =>
        readdirSync(dir).some(
          (f) => f.endsWith('.tmp') && readFileSync(join(dir, f), 'utf8').includes('source_up'),
        ),
      'a gap record in the temporary file',
      20_000,
    );
    child.kill('SIGTERM');
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['samples.ndjson']);
    const samples = readSamples(out);
    const gaps = samples.filter((s) => s.metric === 'source_up');
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps.every((g) => g.value === 0 && g.labels.of === 'sidekiq' && g.labels.error)).toBe(true);
    expect(samples.filter((s) => s.metric === 'storage_objects').length).toBeGreaterThan(0);
    expect(`${readFileSync(out, 'utf8')}${r.stdout}${r.stderr}`).not.toContain('hunter2');
    expect(r.stderr).toContain('sidekiq redis://127.0.0.1:1/0 DOWN');
  });

  const bad: [string, string[], RegExp][] = [
    ['no source', [], /give at least one source/],
    ['an unparsable URL', ['--sidekiq-redis', 'not a url'], /--sidekiq-redis .*not a URL/],
    [
      'a URL of the wrong kind',
      ['--database-url', 'http://x'],
      /--database-url http:\/\/x: the scheme must be postgres:\/\//,
    ],
    [
      'a bad --prometheus',
      ['--media-dir', '.', '--prometheus', 'redis://x'],
      /--prometheus redis:\/\/x: the scheme must be http:\/\//,
    ],
    [
      'a process that does not exist',
      ['--process', 'web=999999999'],
      /--process web=999999999: no process with pid/,
    ],
    ['a --process without a PID', ['--process', 'web'], /--process web: expected NAME=PID/],
    [
      'a missing media directory',
      ['--media-dir', '/nonexistent/media'],
      /--media-dir \/nonexistent\/media: ENOENT/,
    ],
    ['a zero interval', ['--media-dir', '.', '--interval', '0s'], /--interval must be > 0/],
    [
      'an unreadable interval',
      ['--media-dir', '.', '--interval', 'often'],
      /--interval: "often" is not a duration/,
    ],
    ['a bad duration', ['--media-dir', '.', '--duration', 'soon'], /--duration: "soon" is not a duration/],
  ];
  it.each(bad)(
    'rejects %s: exit 2, the flag named, no stack trace, nothing written',
    async (_, args, message) => {
      const dir = tempDir('fedicap-collect-cli-');
      const r = await fedicap(['collect', ...args, '--out', join(dir, 'samples.ndjson')]).result;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it('rejects an --out whose directory does not exist or that is a directory', async () => {
    const dir = tempDir('fedicap-collect-cli-');
    const missing = await fedicap(['collect', '--media-dir', dir, '--out', join(dir, 'no', 's.ndjson')])
      .result;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--out .*no\/s\.ndjson: directory .*\/no does not exist/);
    const isDir = await fedicap(['collect', '--media-dir', dir, '--out', dir]).result;
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toMatch(/--out .*: is a directory/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

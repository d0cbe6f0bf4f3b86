/**
 * How the scenarios' client records responses (scenarios/lib/client.ts),
 * through the local executor: a 429 is counted in `rate_limited` (tagged
 * rate_limited=true) and left out of `capacity_errors`; a 5xx is a capacity
 * error; another 4xx is a client error.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointsOf, readK6Json } from '../../src/results/k6Json.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

describe('429 is rate limiting, not a capacity failure', () => {
  let server: http.Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      const status =
        req.url === '/ok' ? 200 : req.url === '/limited' ? 429 : req.url === '/broken' ? 503 : 404;
      res
        .writeHead(status, { 'Content-Type': 'application/json' })
        .end(status === 200 ? '[]' : '{"error":"x"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts each class where it belongs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedicap-429-'));
    const host = new URL(url).host;
    const args = [
      join(ROOT, 'dist/bin/fedicap.js'),
      'run',
      join(ROOT, 'test/scenarios/fixtures/status-classes.js'),
      '--engine',
      'local',
      '--target',
      url,
      '--confirm-target',
      host,
      '--out',
      out,
    ];
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: 'ignore',
      });
      child.on('close', done);
    });
    expect(code).toBe(0);
    expect(seen.filter((s) => s.endsWith('Bearer test-token-not-secret'))).toHaveLength(9);
    const m = (
      JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
        metrics: Record<string, Record<string, number>>;
      }
    ).metrics;
    expect(m.rate_limited!.count).toBe(4);
    // 3 × 200, 1 × 503, 1 × 404 recorded; the 429s are not
    expect(m.capacity_errors).toMatchObject({ passes: 1, fails: 4 });
    expect(m.capacity_errors!.value).toBeCloseTo(0.2, 10);
    expect(m.client_errors!.count).toBe(1);
    const points: Record<string, string>[] = []; // the tags of each rate_limited sample
    for await (const p of pointsOf(readK6Json(join(out, 'k6.ndjson.gz')), 'rate_limited')) {
      points.push(p.data.tags ?? {});
    }
    expect(points).toHaveLength(4);
    expect(
      points.every(
        (t) => t.rate_limited === 'true' && t.station === 'timelines/home' && t.name === '/limited',
      ),
    ).toBe(true);
    // the check is not evaluated for a 429: 3 passes (200s), 2 fails (503, 404)
    expect(m.checks).toMatchObject({ passes: 3, fails: 2 });
    rmSync(out, { recursive: true, force: true });
  });
});

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCounts } from '../../bench/runner/counts.js';
import { runLocal } from '../../src/run/local/runner.js';
import { ROOT } from '../support/paths.js';
import { startServer, writeScenario, type TestServer } from '../support/runner.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('bench:runner', () => {
  it('counts as served only the requests answered as expected', async () => {
    // Per iteration: one 200, one 500, one refused connection.
    const port = await closedPort();
    const scenarioPath = writeScenario(`
      import http from 'k6/http';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 4 } } };
      export default async function () {
        await http.asyncRequest('GET', __ENV.BASE_URL + '/json');
        await http.asyncRequest('GET', __ENV.BASE_URL + '/status/500');
        await http.asyncRequest('GET', 'http://127.0.0.1:${port}/');
      }
    `);
    const result = await runLocal({
      scenarioPath,
      env: { BASE_URL: server.url },
      outDir: join(dirname(scenarioPath), 'out'),
      stdout: () => {},
      stderr: () => {},
    });
    expect(result.summary.metrics.http_reqs!.values.count).toBe(12);
    expect(requestCounts(result.summary.metrics)).toEqual({ ok: 4, failed: 8 });
  });

  it('pointed at a closed port, reports no requests/s and exits 1 saying why', async () => {
    const port = await closedPort();
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(ROOT, 'test/support/typescript.mjs'),
        join(ROOT, 'bench/runner.ts'),
        '--target',
        `http://127.0.0.1:${port}`,
        '--duration',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`throughput: (\\d+) of \\1 requests to http://127\\.0\\.0\\.1:${port} failed`),
    );
    expect(stderr).toContain('no throughput is reported for a run with failures');
    expect(stdout).not.toMatch(/requests\/s/);
  }, 90_000);
});

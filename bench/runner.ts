/**
 * Benchmarks of the local executor (not timed tests): figures and ratios
 * against its targets. Run with `npm run bench:runner`.
 *
 * - sustained request rate: the executor pinned to one core (`taskset -c 0`
 *   when available), a keep-alive HTTP server in another process on the other
 *   core; closed-model VUs looping `http.asyncRequest` (target ≥ 2,000 req/s);
 * - arrival-rate error: constant-arrival-rate 500/s for 10 s, achieved starts
 *   and start lateness against the schedule (target < 2 %);
 * - the signing cost of one inbound ActivityPub delivery: WebCrypto
 *   RSASSA-PKCS1-v1_5 SHA-256 signature of the signing string plus the
 *   SHA-256 Digest of a ~1 KB body, 2048-bit key.
 *
 * Only successful responses count as throughput: a run in which any request
 * failed (a refused connection, an unexpected status) prints why and exits 1
 * without a rate. `--target URL` loads another server than the bench's own,
 * `--duration S` shortens the runs (default 10 s).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { requestCounts } from './runner/counts.js';

const SELF = fileURLToPath(import.meta.url);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const SERVER = `
import http from 'node:http';
const body = JSON.stringify({ id: '1', content: 'x'.repeat(200) });
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); }); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** Child mode: run one scenario in-process with the runner and print its stats as JSON. */
async function child(kind: string, baseUrl: string, durationSec: number): Promise<void> {
  const { runLocal } = await import('../src/run/local/runner.js');
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-bench-'));
  const scenario = join(dir, `${kind}.ts`);
  writeFileSync(
    scenario,
    kind === 'throughput'
      ? `import http from 'k6/http';
         export const options = { scenarios: { loop: { executor: 'constant-vus', vus: 32, duration: '${durationSec}s' } } };
         export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/api/v1/timelines/home'); }`
      : `import http from 'k6/http';
         export const options = { scenarios: { open: { executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s', duration: '${durationSec}s', preAllocatedVUs: 50, maxVUs: 200 } } };
         export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/api/v1/timelines/home'); }`,
  );
  const result = await runLocal({
    scenarioPath: scenario,
    env: { BASE_URL: baseUrl },
    outDir: join(dir, 'out'),
    stdout: () => {},
    stderr: () => {},
  });
  const s = result.scenarios[0]!;
  const m = result.summary.metrics;
  const { ok, failed } = requestCounts(m);
  const durationMs = result.summary.state.testRunDurationMs;
  process.stdout.write(
    `${JSON.stringify({
      reqs: ok,
      failed,
      reqRate: durationMs > 0 ? ok / (durationMs / 1000) : 0,
      iterations: m.iterations?.values.count ?? 0,
      durationMs,
      dropped: s.dropped,
      started: s.started,
      spanMs: s.lastStartMs - s.firstStartMs,
      lateP50: s.latenessMs.length ? pct(s.latenessMs, 50) : 0,
      lateP99: s.latenessMs.length ? pct(s.latenessMs, 99) : 0,
      p95: m.http_req_duration?.values['p(95)'] ?? 0,
      errors: result.iterationErrors,
    })}\n`,
  );
}

async function startServer(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-bench-'));
  const file = join(dir, 'server.mjs');
  writeFileSync(file, SERVER);
  const args = hasTaskset ? ['taskset', '-c', '1', process.execPath, file] : [process.execPath, file];
  const proc = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    proc.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill() };
}

/** A failed request makes the figures meaningless: say so and stop, without a rate. */
class RequestsFailed extends Error {}

function runChild(kind: string, url: string, durationSec: number): Record<string, number> {
  // process.execArgv: the TypeScript hooks when run from source.
  const node = [process.execPath, ...process.execArgv, SELF, '--child', kind, url, String(durationSec)];
  const args = hasTaskset ? ['taskset', '-c', '0', ...node] : node;
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 120_000 + durationSec * 1000 });
  if (r.status !== 0) throw new Error(`bench child ${kind} failed: ${r.stderr}`);
  const stats = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  if (stats.failed! > 0 || stats.reqs === 0) {
    throw new RequestsFailed(
      `${kind}: ${stats.failed} of ${stats.failed! + stats.reqs!} requests to ${url} failed ` +
        `(${stats.errors} iteration errors); no throughput is reported for a run with failures`,
    );
  }
  return stats;
}

async function signing(): Promise<void> {
  const { subtle } = globalThis.crypto;
  const keys = await subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  );
  const enc = new TextEncoder();
  const activity = JSON.stringify({
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: 'https://remote.test/users/alice/statuses/1/activity',
    type: 'Create',
    actor: 'https://remote.test/users/alice',
    object: { id: 'https://remote.test/users/alice/statuses/1', type: 'Note', content: 'x'.repeat(700) },
  });
  const body = enc.encode(activity);
  const one = async () => {
    const digest = Buffer.from(await subtle.digest('SHA-256', body)).toString('base64');
    const signingString = `(request-target): post /inbox\nhost: 127.0.0.1:3000\ndate: ${new Date().toUTCString()}\ndigest: SHA-256=${digest}`;
    await subtle.sign('RSASSA-PKCS1-v1_5', keys.privateKey, enc.encode(signingString));
  };
  for (let i = 0; i < 50; i++) await one(); // warm-up
  const n = 1000;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) await one();
  const sequentialUs = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (let i = 0; i < n / 20; i++) await Promise.all(Array.from({ length: 20 }, one));
  const concurrentUs = ((performance.now() - t0) * 1000) / n;
  console.log(
    `signing per inbound activity (${body.length} B body, RSA 2048 RSASSA-PKCS1-v1_5 SHA-256 + SHA-256 digest, WebCrypto): ` +
      `${sequentialUs.toFixed(0)} µs one at a time, ${concurrentUs.toFixed(0)} µs each with 20 in flight (libuv thread pool) — ` +
      `${(1e6 / sequentialUs).toFixed(0)} / ${(1e6 / concurrentUs).toFixed(0)} signed deliveries/s`,
  );
}

/** --target URL (default: the bench's own server) and --duration S (default 10) of each run. */
function benchArgs(argv: string[]): { target: string | undefined; durationSec: number } {
  const { values } = parseArgs({
    args: argv,
    options: { target: { type: 'string' }, duration: { type: 'string', default: '10' } },
  });
  const durationSec = Number(values.duration);
  if (!(Number.isInteger(durationSec) && durationSec >= 1 && durationSec <= 60)) {
    console.error(`bench:runner: --duration ${values.duration}: expected whole seconds from 1 to 60`);
    process.exit(2);
  }
  return { target: values.target, durationSec };
}

function measure(url: string, durationSec: number): void {
  const tputRuns = [1, 2, 3].map(() => runChild('throughput', url, durationSec));
  const rate = median(tputRuns.map((r) => r.reqRate!));
  const best = tputRuns.find((r) => r.reqRate === rate)!;
  console.log(
    `sustained request rate, local executor on one core, 32 VUs looping http.asyncRequest, keep-alive: ${rate.toFixed(0)} successful requests/s ` +
      `(median of 3 × ${durationSec} s; ${(rate / 2000).toFixed(2)}× the 2,000 requests/s target; p95 latency ${best.p95!.toFixed(2)} ms, ${best.errors} errors)`,
  );
  const arr = runChild('arrival', url, durationSec);
  const scheduled = 500 * durationSec;
  const achievedRate = arr.started! / durationSec;
  const countError = Math.abs(arr.started! - scheduled) / scheduled;
  console.log(
    `arrival-rate accuracy, constant-arrival-rate 500/s for ${durationSec} s: ${arr.started} iterations started of ${scheduled} scheduled ` +
      `(${arr.dropped} dropped) = ${achievedRate.toFixed(1)}/s vs 500/s configured, error ${(countError * 100).toFixed(2)} % (target < 2 %: ${(countError / 0.02).toFixed(2)}× the limit); ` +
      `first-to-last start ${(arr.spanMs! / 1000).toFixed(3)} s (schedule: ${(durationSec - 0.002).toFixed(3)} s); start lateness p50 ${arr.lateP50!.toFixed(2)} ms, p99 ${arr.lateP99!.toFixed(2)} ms`,
  );
}

async function main(): Promise<void> {
  const { target, durationSec } = benchArgs(process.argv.slice(2));
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; executor ${hasTaskset ? 'pinned with taskset -c 0, server on core 1' : 'not pinned (no taskset)'}`,
  );
  const server = target ? { url: target, stop: () => {} } : await startServer();
  try {
    measure(server.url, durationSec);
  } catch (err) {
    if (!(err instanceof RequestsFailed)) throw err;
    console.error(`bench:runner: ${err.message}`);
    process.exitCode = 1;
    return;
  } finally {
    server.stop();
  }
  await signing();
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5] ?? 10));
} else {
  await main();
}

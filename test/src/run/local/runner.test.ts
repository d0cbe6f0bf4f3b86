import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateK6Files } from '../../../../src/results/aggregate.js';
import { findRunFiles } from '../../../../src/results/runFiles.js';
import { arrivalTimes, parseOptions } from '../../../../src/run/local/options.js';
import { runLocal, type LocalRunResult } from '../../../../src/run/local/runner.js';
import { tempDir } from '../../../support/helpers.js';
import { ROOT } from '../../../support/paths.js';
import { readK6Lines, startServer, writeScenario, type TestServer } from '../../../support/runner.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

async function run(source: string, env: Record<string, string> = {}) {
  const scenarioPath = writeScenario(source);
  const outDir = join(dirname(scenarioPath), 'out');
  let stdout = '';
  let stderr = '';
  const result: LocalRunResult = await runLocal({
    scenarioPath,
    env: { BASE_URL: server.url, ...env },
    outDir,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  const lines = await readK6Lines(join(outDir, 'k6.ndjson.gz'));
  return {
    outDir,
    result,
    stdout,
    stderr,
    lines,
    points: lines.filter((l) => l.type === 'Point'),
    summary: JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as {
      root_group: Record<string, unknown>;
      metrics: Record<string, Record<string, unknown>>;
    },
  };
}

/**
 * Sample lines of `k6 run --out json`. Point lines: the k6 docs' JSON output
 * page (https://grafana.com/docs/k6/latest/results-output/real-time/json/).
 * Metric lines: that page's sample predates k6 v0.4x ("tainted", no "name");
 * current k6 writes name/type/contains/thresholds/submetrics, as in k6's own
 * output test (grafana/k6 internal/output/json/json_test.go), so the test
 * holds us to the current shape.
 */
const K6_SAMPLE = [
  '{"type":"Metric","data":{"name":"my_metric2","type":"counter","contains":"data","thresholds":[],"submetrics":null},"metric":"my_metric2"}',
  '{"type":"Point","data":{"time":"2017-05-09T14:34:45.625742514+02:00","value":5,"tags":null},"metric":"vus"}',
  '{"type":"Point","data":{"time":"2017-05-09T14:34:45.239531499+02:00","value":459.865729,"tags":{"group":"::my group::json","method":"GET","status":"200","url":"https://quickpizza.grafana.com/api/tools"}},"metric":"http_req_duration"}',
];

const SHAPES_SCENARIO = `
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const posts = new Counter('posts_made');
const fetchMs = new Trend('fetch_ms', true);
const jsonOk = new Rate('json_ok');

export const options: Options = {
  scenarios: {
    inbound: {
      executor: 'constant-arrival-rate',
      rate: 10,
      timeUnit: '1s',
      duration: '2s',
      preAllocatedVUs: 2,
      maxVUs: 4,
      tags: { kind: 'inbound' },
    },
  },
  thresholds: {
    'http_req_duration{scenario:inbound}': ['p(95)<2000'],
    http_req_failed: ['rate<0.6'],
    posts_made: ['count>=20'],
    checks: ['rate>0.99'],
  },
};

export default async function () {
  const res = await http.asyncRequest('GET', __ENV.BASE_URL + '/json', null, { tags: { endpoint: 'json' } });
  group('timeline', () => {
    check(res, {
      'status is 200': (r) => r.status === 200,
      'name is fedicap': (r) => r.json('name') === 'fedicap',
      'two items': (r) => r.json('items.#') === 2 && r.json('items.1.id') === 2,
      'canonical header': (r) => r.headers['Content-Type'] === 'application/json',
    });
  });
  fetchMs.add(res.timings.duration, { endpoint: 'json' });
  jsonOk.add(res.status === 200);
  const created = await http.asyncRequest('POST', __ENV.BASE_URL + '/status/404', JSON.stringify({ status: 'hi' }), {
    headers: { 'Content-Type': 'application/json' },
  });
  jsonOk.add(created.status === 200);
  posts.add(1);
}
`;

describe('local executor outputs', () => {
  let out: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    out = await run(SHAPES_SCENARIO);
  }, 30_000);

  it('writes k6.ndjson.gz lines with the field sets of k6 --out json', () => {
    const sample = K6_SAMPLE.map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    const metricKeys = Object.keys(sample[0]!.data).sort();
    const pointKeys = Object.keys(sample[1]!.data).sort();
    expect(out.lines.length).toBeGreaterThan(100);
    for (const line of out.lines) {
      expect(Object.keys(line).sort()).toEqual(['data', 'metric', 'type']);
      if (line.type === 'Metric') expect(Object.keys(line.data).sort()).toEqual(metricKeys);
      else {
        expect(line.type).toBe('Point');
        expect(Object.keys(line.data).sort()).toEqual(pointKeys);
        expect(line.data.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,9}(Z|[+-]\d\d:\d\d)$/);
        expect(typeof line.data.value).toBe('number');
      }
    }
    // A Metric line precedes the first Point of each metric, and only one per metric.
    const declared = new Set<string>();
    for (const line of out.lines) {
      if (line.type === 'Metric') {
        expect(declared.has(line.metric)).toBe(false);
        declared.add(line.metric);
        expect(line.data.name).toBe(line.metric);
      } else expect(declared.has(line.metric)).toBe(true);
    }
  });

  it('writes k6.ndjson.gz, which the run readers read as they read the plain k6.ndjson of earlier runs', async () => {
    const gz = join(out.outDir, 'k6.ndjson.gz');
    expect([...readFileSync(gz).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const plainDir = tempDir('fedicap-runner-plain-');
    writeFileSync(join(plainDir, 'k6.ndjson'), gunzipSync(readFileSync(gz)));
    const [now, before] = await Promise.all([findRunFiles(out.outDir), findRunFiles(plainDir)]);
    expect(now.k6).toEqual([gz]);
    expect(before.k6).toEqual([join(plainDir, 'k6.ndjson')]);
    const fromGz = await aggregateK6Files(now.k6);
    expect(fromGz.total.requests).toBe(40);
    expect(await aggregateK6Files(before.k6)).toEqual(fromGz);
    expect(await readK6Lines(before.k6[0]!)).toEqual(out.lines);
  });

  it('names and types the built-in metrics as k6 does', () => {
    const meta = new Map(out.lines.filter((l) => l.type === 'Metric').map((l) => [l.metric, l.data]));
    const expected: Record<string, [string, string]> = {
      http_reqs: ['counter', 'default'],
      http_req_duration: ['trend', 'time'],
      http_req_blocked: ['trend', 'time'],
      http_req_connecting: ['trend', 'time'],
      http_req_tls_handshaking: ['trend', 'time'],
      http_req_sending: ['trend', 'time'],
      http_req_waiting: ['trend', 'time'],
      http_req_receiving: ['trend', 'time'],
      http_req_failed: ['rate', 'default'],
      iterations: ['counter', 'default'],
      iteration_duration: ['trend', 'time'],
      data_sent: ['counter', 'data'],
      data_received: ['counter', 'data'],
      checks: ['rate', 'default'],
      group_duration: ['trend', 'time'],
      vus: ['gauge', 'default'],
      vus_max: ['gauge', 'default'],
      posts_made: ['counter', 'default'],
      fetch_ms: ['trend', 'time'],
      json_ok: ['rate', 'default'],
    };
    for (const [name, [type, contains]] of Object.entries(expected)) {
      expect(meta.get(name), name).toMatchObject({ type, contains });
    }
    expect(meta.get('http_req_duration')!.submetrics).toEqual(
      expect.arrayContaining([
        {
          name: 'http_req_duration{scenario:inbound}',
          suffix: 'scenario:inbound',
          tags: { scenario: 'inbound' },
        },
      ]),
    );
    expect(meta.get('posts_made')!.thresholds).toEqual(['count>=20']);
  });

  it('tags HTTP samples with k6 system tags plus the request, scenario and group tags', () => {
    const first = out.points.find((l) => l.metric === 'http_req_duration')!;
    expect(first.data.tags).toEqual({
      endpoint: 'json',
      expected_response: 'true',
      group: '',
      kind: 'inbound',
      method: 'GET',
      name: `${server.url}/json`,
      proto: 'HTTP/1.1',
      scenario: 'inbound',
      status: '200',
      url: `${server.url}/json`,
    });
    const failed = out.points.find((l) => l.metric === 'http_req_failed' && l.data.tags?.status === '404')!;
    expect(failed.data.value).toBe(1);
    expect(failed.data.tags).toMatchObject({
      expected_response: 'false',
      error_code: '1404',
      method: 'POST',
    });
    const check = out.points.find((l) => l.metric === 'checks')!;
    expect(check.data.tags).toMatchObject({
      group: '::timeline',
      scenario: 'inbound',
      check: 'status is 200',
    });
    const group = out.points.find((l) => l.metric === 'group_duration')!;
    expect(group.data.tags).toMatchObject({ group: '::timeline', scenario: 'inbound' });
  });

  it('summary.json has k6 summary-export aggregates and threshold results', () => {
    const m = out.summary.metrics;
    expect(m.iterations).toMatchObject({ count: 20 });
    expect(m.http_reqs).toMatchObject({ count: 40 });
    expect(m.posts_made).toMatchObject({ count: 20, thresholds: { 'count>=20': false } });
    expect(m.http_req_failed).toMatchObject({
      passes: 20,
      fails: 20,
      value: 0.5,
      thresholds: { 'rate<0.6': false },
    });
    expect(m.json_ok).toMatchObject({ passes: 20, fails: 20, value: 0.5 });
    expect(m.checks).toMatchObject({ passes: 80, fails: 0, value: 1 });
    for (const key of ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'])
      expect(typeof m.http_req_duration![key]).toBe('number');
    expect(m['http_req_duration{scenario:inbound}']!.thresholds).toEqual({ 'p(95)<2000': false });
    expect(m['http_req_duration{expected_response:true}']).toBeDefined();
    // Trend aggregates agree with the points written.
    const values = out.points.filter((l) => l.metric === 'fetch_ms').map((l) => l.data.value);
    expect(values).toHaveLength(20);
    expect(m.fetch_ms!.max).toBeCloseTo(Math.max(...values), 9);
    expect(m.fetch_ms!.min).toBeCloseTo(Math.min(...values), 9);
    expect(m.fetch_ms!.avg).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
    const group = out.summary.root_group as {
      groups: Record<string, { path: string; checks: Record<string, { passes: number; fails: number }> }>;
    };
    expect(group.groups.timeline!.path).toBe('::timeline');
    expect(group.groups.timeline!.checks['status is 200']).toMatchObject({ passes: 20, fails: 0 });
    expect(out.result.exitCode).toBe(0);
    expect(out.stdout).toContain('█ THRESHOLDS');
    expect(out.stdout).toContain("✓ 'count>=20' count=20");
  });
});

describe('arrival-rate scheduling', () => {
  it('constant-arrival-rate 50/s for 4 s starts 200 iterations (±2 %), on schedule', async () => {
    // 200 starts are scheduled (k6 starts iteration i at i × 20 ms while < 4 s); only a
    // drop could lose one, and 20 free VUs against a ~1 ms endpoint leave none. 2 % is 4
    // iterations of slack for a loaded CI machine.
    const { summary, result } = await run(`
      import http from 'k6/http';
      export const options = { scenarios: { steady: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '4s', preAllocatedVUs: 20, maxVUs: 40 } } };
      export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/rate'); }
    `);
    const count = summary.metrics.iterations!.count as number;
    expect(Math.abs(count - 200) / 200).toBeLessThanOrEqual(0.02);
    const stats = result.scenarios[0]!;
    expect(stats.dropped).toBe(0);
    // Starts follow the clock: the last start lands ~3.98 s after the first.
    expect(stats.lastStartMs - stats.firstStartMs).toBeGreaterThan(3900);
    expect(stats.lastStartMs - stats.firstStartMs).toBeLessThan(4080);
    const late = [...stats.latenessMs].sort((a, b) => a - b);
    expect(late[Math.floor(late.length * 0.95)]!).toBeLessThan(50);
  }, 30_000);

  it('ramping-arrival-rate follows its stages', async () => {
    // 0 → 40/s over 2 s, 40/s for 1 s, 40 → 0/s over 1 s: 40 + 40 + 20 = 100 iterations; the
    // 100th falls exactly on the scenario's end (4 s), where k6 too may or may not start it.
    const source = `
      import http from 'k6/http';
      import exec from 'k6/execution';
      export const options = { scenarios: { ramp: { executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', preAllocatedVUs: 10, maxVUs: 20,
        stages: [{ duration: '2s', target: 40 }, { duration: '1s', target: 40 }, { duration: '1s', target: 0 }] } } };
      export default async function () {
        const offset = Date.now() - exec.scenario.startTime;
        await http.asyncRequest('GET', __ENV.BASE_URL + '/ramp?offset=' + offset);
      }
    `;
    const before = server.requests.length;
    const { summary } = await run(source);
    expect(summary.metrics.iterations!.count).toBeGreaterThanOrEqual(99);
    expect(summary.metrics.iterations!.count).toBeLessThanOrEqual(100);
    const offsets = server.requests
      .slice(before)
      .filter((r) => r.path.startsWith('/ramp'))
      .map((r) => Number(new URL(r.path, 'http://x').searchParams.get('offset')))
      .sort((a, b) => a - b);
    const perStage = [
      offsets.filter((o) => o < 2000).length,
      offsets.filter((o) => o >= 2000 && o < 3000).length,
      offsets.filter((o) => o >= 3000).length,
    ];
    expect(perStage[0]).toBeGreaterThanOrEqual(37);
    expect(perStage[0]).toBeLessThanOrEqual(42);
    expect(perStage[1]).toBeGreaterThanOrEqual(38);
    expect(perStage[1]).toBeLessThanOrEqual(43);
    expect(perStage[2]).toBeGreaterThanOrEqual(17);
    expect(perStage[2]).toBeLessThanOrEqual(21);
    // Every start close to k6's schedule (area under the rate curve reaches n); 60 ms absorbs a busy CI
    // machine.
    const schedule = [
      ...arrivalTimes(
        parseOptions({
          scenarios: {
            r: {
              executor: 'ramping-arrival-rate',
              startRate: 0,
              timeUnit: '1s',
              preAllocatedVUs: 1,
              stages: [
                { duration: '2s', target: 40 },
                { duration: '1s', target: 40 },
                { duration: '1s', target: 0 },
              ],
            },
          },
        }).scenarios[0]!,
      ),
    ];
    expect(schedule).toHaveLength(100);
    for (const [i, o] of offsets.entries()) expect(Math.abs(o - schedule[i]!)).toBeLessThan(60);
  }, 30_000);

  it('counts dropped_iterations when maxVUs cannot keep up with a slow endpoint', async () => {
    // 20/s for 2 s = 40 starts; 2 VUs on a 300 ms endpoint manage ~6.7/s.
    const { summary, result, points } = await run(`
      import http from 'k6/http';
      export const options = { scenarios: { slow: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2s', preAllocatedVUs: 1, maxVUs: 2 } } };
      export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/slow'); }
    `);
    const dropped = summary.metrics.dropped_iterations!.count as number;
    const iterations = summary.metrics.iterations!.count as number;
    expect(dropped).toBeGreaterThan(20);
    expect(dropped + iterations).toBe(40);
    expect(result.scenarios[0]!.dropped).toBe(dropped);
    const point = points.find((l) => l.metric === 'dropped_iterations')!;
    expect(point.data.tags).toEqual({ scenario: 'slow' });
    expect(summary.metrics.vus_max!.value).toBe(2);
  }, 30_000);
});

describe('k6 API', () => {
  it('WebSocket: connects, receives messages, sends, closes; the iteration waits for the socket', async () => {
    const { summary, result, lines, points } = await run(`
      import { WebSocket } from 'k6/experimental/websockets';
      import { check } from 'k6';
      import { Counter } from 'k6/metrics';
      const events = new Counter('stream_events');
      export const options = { scenarios: { stream: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } }, thresholds: { stream_events: ['count==12'] } };
      export default function () {
        const ws = new WebSocket(__ENV.BASE_URL.replace('http', 'ws') + '/ws?access_token=SECRET_TOKEN_VALUE');
        let seen = 0;
        ws.onopen = () => ws.send('hello');
        ws.addEventListener('message', (e) => {
          if (String(e.data).startsWith('echo:')) { check(e.data, { echoed: (d) => d === 'echo:hello' }); return; }
          events.add(1);
          if (++seen === 3) ws.close();
        });
        ws.onclose = () => check(seen, { 'three events before close': (n) => n === 3 });
      }
    `);
    expect(result.exitCode).toBe(0);
    expect(summary.metrics.stream_events).toMatchObject({ count: 12, thresholds: { 'count==12': false } });
    expect(summary.metrics.checks).toMatchObject({ passes: 8, fails: 0 });
    expect(summary.metrics.ws_sessions).toMatchObject({ count: 4 });
    expect(summary.metrics.ws_msgs_received).toMatchObject({ count: 16 });
    expect(summary.metrics.iterations).toMatchObject({ count: 4 });
    const session = points.find((l) => l.metric === 'ws_sessions')!;
    expect(session.data.tags).toMatchObject({ status: '101', scenario: 'stream' });
    // The token in the URL never reaches the output.
    expect(JSON.stringify(lines)).not.toContain('SECRET_TOKEN_VALUE');
  }, 30_000);

  it('per-VU globals, setup data, SharedArray, open(), timers, encoding, crypto, exec', async () => {
    const scenarioPath = writeScenario('[{"user":"alice"},{"user":"bob"}]', 'users.json');
    const dir = dirname(scenarioPath);
    const outDir = tempDir('fedicap-runner-out-');
    writeFileSync(
      join(dir, 'lib.ts'),
      `export function sha256Hex(buf: ArrayBuffer): string { return Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, '0')).join(''); }`,
    );
    const file = join(dir, 'scenario.ts');
    writeFileSync(
      file,
      `
      import { check } from 'k6';
      import { SharedArray } from 'k6/data';
      import { b64encode, b64decode } from 'k6/encoding';
      import exec from 'k6/execution';
      import { setTimeout as k6SetTimeout } from 'k6/timers';
      import { sha256Hex } from './lib.ts';
      const users = new SharedArray('users', () => JSON.parse(open('./users.json')));
      const raw = open('./users.json', 'b');
      let perVuCounter = 0;
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 3, env: { EXTRA: 'yes' }, tags: { t: 'x' } } } };
      export function setup() { return { token: 'from-setup' }; }
      export default async function (data) {
        perVuCounter++;
        await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => k6SetTimeout(r, 5));
        const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('body'));
        const digest = sha256Hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')));
        // An ArrayBuffer made in the VU's realm, as k6 scripts pass them.
        const digestOfBuffer = sha256Hex(await crypto.subtle.digest('SHA-256', new Uint8Array([97, 98, 99]).buffer));
        check(null, {
          'VU ids': () => __VU === exec.vu.idInTest && __VU >= 1,
          'ITER per VU': () => __ITER === perVuCounter - 1 && exec.vu.iterationInScenario === __ITER,
          'scenario env': () => __ENV.EXTRA === 'yes' && __ENV.BASE_URL.startsWith('http://127.0.0.1'),
          'setup data': () => data.token === 'from-setup',
          'shared array': () => users.length === 2 && users[1].user === 'bob' && [...users].length === 2,
          'shared array is k6-strict': () => {
            try {
              users.slice(0);
              return false;
            } catch (err) {
              return /not available in k6/.test(String(err));
            }
          },
          'binary open': () => raw.byteLength > 10,
          'b64': () => b64decode(b64encode('hé'), 'std', 's') === 'hé',
          'hmac': () => sig.byteLength === 32,
          'digest': () => digest === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          'digest of an ArrayBuffer': () => digestOfBuffer === digest,
          'scenario name': () => exec.scenario.name === 's',
          'vu tags': () => exec.vu.tags.scenario === 's',
        });
      }
    `,
    );
    let stderr = '';
    const result = await runLocal({
      scenarioPath: file,
      env: { BASE_URL: server.url },
      outDir,
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
    });
    const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
    const checks = summary.root_group.checks as Record<string, { passes: number; fails: number }>;
    for (const [name, c] of Object.entries(checks))
      expect(c, `${name}\n${stderr}`).toEqual(expect.objectContaining({ passes: 6, fails: 0 }));
    expect(Object.keys(checks)).toHaveLength(13);
    expect(result.iterationErrors).toBe(0);
  }, 30_000);

  it('refuses un-awaited sleep and async group callbacks with clear errors', async () => {
    const { result, stderr } = await run(`
      import http from 'k6/http';
      import { group, sleep } from 'k6';
      export const options = { scenarios: {
        b: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'noAwait' },
        c: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'asyncGroup' },
        d: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'awaitedSleep' },
      } };
      export async function noAwait() { sleep(0.01); await http.asyncRequest('GET', __ENV.BASE_URL); }
      export function asyncGroup() { group('g', async () => {}); }
      export async function awaitedSleep() { await sleep(0.01); await http.asyncRequest('GET', __ENV.BASE_URL); }
    `);
    expect(stderr).toContain('sleep() must be awaited');
    expect(stderr).toContain('async function');
    expect(result.iterationErrors).toBe(2);
    expect(result.exitCode).toBe(0);
  }, 30_000);
});

describe('after the run', () => {
  it('leaves no timer behind: a process whose iterations outlived the scenario exits on its own at once', async () => {
    // constant-arrival-rate ends at 1 s with a 300 ms iteration still running: the graceful stop (30 s by
    // default) waits for it, and must not keep the process alive for its 30 s once the iteration is done.
    const scenarioPath = writeScenario(`
      import http from 'k6/http';
      export const options = { scenarios: { s: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '1s', preAllocatedVUs: 3 } } };
      export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/slow'); }
    `);
    const script = join(dirname(scenarioPath), 'main.ts');
    writeFileSync(
      script,
      `import { runLocal } from ${JSON.stringify(join(ROOT, 'src/run/local/runner.ts'))};
       const r = await runLocal({ scenarioPath: ${JSON.stringify(scenarioPath)}, env: { BASE_URL: ${JSON.stringify(server.url)} },
         outDir: ${JSON.stringify(join(dirname(scenarioPath), 'out'))}, stdout: () => {}, stderr: () => {} });
       console.log(JSON.stringify({ exitCode: r.exitCode, iterations: r.summary.metrics.iterations?.values.count, at: Date.now() }));`,
    );
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/support/typescript.mjs'), script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    const exitedAt = Date.now();
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim()) as { exitCode: number; iterations: number; at: number };
    expect(report.exitCode).toBe(0);
    expect(report.iterations).toBe(5);
    // The run itself takes ~1.3 s; the process ends within a second or two of it, not 30 s later.
    expect(exitedAt - report.at, `run took ${report.at - started} ms`).toBeLessThan(3000);
  }, 90_000);
});

/**
 * The local executor emits what k6 emits for the same scenario: metric names,
 * the tags each carries, and the bytes of every part of the test. What k6
 * emits is taken from its sources, not from a run (no k6 binary here):
 * - data_sent/data_received: js/runner.go runFn pushes the dialer's IOSamples
 *   after setup(), every iteration and teardown(), tagged with the part's group;
 * - http_req_*: lib/netext/httpext/transport.go measureAndEmitMetrics (name and
 *   url equal: the URL, or the name the script set);
 * - ws_*: k6/websockets (xk6-websockets websockets.go): ws_sessions and
 *   ws_connecting once the handshake ends, refused or not (status of the
 *   answer when there is one), ws_msgs_sent per message written,
 *   ws_session_duration from the constructor to the end of an opened session.
 * The README lists the known differences.
 */
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { K6PointLine } from '../../../../src/results/k6Json.js';
import { runLocal, type LocalRunResult } from '../../../../src/run/local/runner.js';
import { readK6Lines, startServer, writeScenario, type TestServer } from '../../../support/runner.js';

/** setup and teardown make one request each; the iteration one named request, one session, one refusal. */
const TINY = `
import http from 'k6/http';
import { check } from 'k6';
import { WebSocket } from 'k6/websockets';
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } } };
export async function setup() { await http.asyncRequest('GET', __ENV.BASE_URL + '/json'); }
function session(path) {
  return new Promise((resolve) => {
    const ws = new WebSocket(__ENV.BASE_URL.replace('http', 'ws') + path);
    let error = '';
    ws.onopen = () => ws.send('hello');
    ws.onmessage = (e) => { if (String(e.data) === 'echo:hello') ws.close(); };
    ws.onerror = (e) => { error = e.error; };
    ws.onclose = () => resolve(error);
  });
}
export default async function () {
  const id = 7;
  const res = await http.asyncRequest('GET', http.url\`\${__ENV.BASE_URL}/status/200?id=\${id}\`);
  check(res, { 'status 200': (r) => r.status === 200 });
  const opened = await session('/ws');
  const refused = await session('/no-stream');
  check(null, { 'opened cleanly': () => opened === '', 'refusal reported': () => /404/.test(refused) });
}
export async function teardown() { await http.asyncRequest('GET', __ENV.BASE_URL + '/json?teardown=1'); }
`;

/** What k6 emits for TINY, by the sources above. */
const K6_METRICS = [
  'checks',
  'data_received',
  'data_sent',
  'http_req_blocked',
  'http_req_connecting',
  'http_req_duration',
  'http_req_failed',
  'http_req_receiving',
  'http_req_sending',
  'http_req_tls_handshaking',
  'http_req_waiting',
  'http_reqs',
  'iteration_duration',
  'iterations',
  'vus',
  'vus_max',
  'ws_connecting',
  'ws_msgs_received',
  'ws_msgs_sent',
  'ws_session_duration',
  'ws_sessions',
];
/** k6's default system tags on each kind of sample (no `ip`: not among k6's default system tags). */
const K6_TAG_KEYS = {
  http: ['expected_response', 'group', 'method', 'name', 'proto', 'scenario', 'status', 'url'],
  wsOpened: ['group', 'name', 'scenario', 'status', 'subproto', 'url'],
  ws404: ['group', 'name', 'scenario', 'status', 'subproto', 'url'],
  iteration: ['group', 'scenario'],
};

let server: TestServer;
let result: LocalRunResult;
let points: K6PointLine[];
beforeAll(async () => {
  server = await startServer();
  const scenarioPath = writeScenario(TINY);
  const outDir = join(dirname(scenarioPath), 'out');
  let stderr = '';
  result = await runLocal({
    scenarioPath,
    env: { BASE_URL: server.url },
    outDir,
    stdout: () => {},
    stderr: (t) => {
      stderr += t;
    },
  });
  expect(result.exitCode, stderr).toBe(0);
  expect(result.iterationErrors, stderr).toBe(0);
  const lines = await readK6Lines(join(outDir, 'k6.ndjson.gz'));
  points = lines.filter((l): l is K6PointLine => l.type === 'Point');
}, 30_000);
afterAll(async () => {
  await server.close();
});

const of = (metric: string) => points.filter((p) => p.metric === metric);
const sum = (metric: string, where: (p: K6PointLine) => boolean = () => true) =>
  of(metric)
    .filter(where)
    .reduce((a, p) => a + p.data.value, 0);

describe('the local executor emits what k6 emits', () => {
  it('the same metric names for the same scenario', () => {
    expect([...new Set(points.map((p) => p.metric))].sort()).toEqual(K6_METRICS);
    expect(result.summary.metrics.checks!.values).toMatchObject({ passes: 3, fails: 0 });
  });

  it('bytes of setup(), the iteration (HTTP and WebSockets) and teardown(), each tagged with its group', () => {
    const byGroup = (metric: string, group: string) => sum(metric, (p) => p.data.tags?.group === group);
    for (const metric of ['data_sent', 'data_received']) {
      for (const group of ['::setup', '', '::teardown'])
        expect(byGroup(metric, group), `${metric} ${group}`).toBeGreaterThan(0);
    }
    // The iteration's WebSocket handshakes (two requests, one 101 answer with its headers) and frames
    // weigh more than its one small GET: setup's single GET of the same server sent less.
    expect(byGroup('data_sent', '')).toBeGreaterThan(2 * byGroup('data_sent', '::setup'));
    // The summary counts what the points say.
    expect(result.summary.metrics.data_sent!.values.count).toBe(sum('data_sent'));
    expect(result.summary.metrics.data_received!.values.count).toBe(sum('data_received'));
  });

  it('HTTP samples: name and url equal, the http.url template when the script named the request', () => {
    const named = of('http_reqs').find((p) => p.data.tags?.status === '200' && p.data.tags.group === '')!;
    expect(Object.keys(named.data.tags!).sort()).toEqual(K6_TAG_KEYS.http);
    // http.url names each placeholder `${}`, the base URL's too.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: k6's text for a placeholder, not a template
    expect(named.data.tags!.name).toBe('${}/status/200?id=${}');
    expect(named.data.tags!.url).toBe(named.data.tags!.name);
    const setup = of('http_reqs').find((p) => p.data.tags?.group === '::setup')!;
    expect(setup.data.tags!.name).toBe(`${server.url}/json`);
    expect(setup.data.tags!.url).toBe(`${server.url}/json`);
  });

  it('ws_sessions for the opened session (status 101) and for the refused upgrade (status 404)', () => {
    const sessions = of('ws_sessions');
    expect(sessions.map((p) => p.data.tags!.status).sort()).toEqual(['101', '404']);
    const opened = sessions.find((p) => p.data.tags!.status === '101')!;
    const refused = sessions.find((p) => p.data.tags!.status === '404')!;
    expect(Object.keys(opened.data.tags!).sort()).toEqual(K6_TAG_KEYS.wsOpened);
    expect(Object.keys(refused.data.tags!).sort()).toEqual(K6_TAG_KEYS.ws404);
    expect(opened.data.tags!.url).toBe(`${server.url.replace('http', 'ws')}/ws`);
    expect(opened.data.tags!.name).toBe(opened.data.tags!.url);
    expect(of('ws_connecting')).toHaveLength(2);
    expect(of('ws_session_duration')).toHaveLength(1);
    expect(sum('ws_msgs_sent')).toBe(1);
    // The echo, and whichever of the server's events came before it.
    expect(sum('ws_msgs_received')).toBeGreaterThanOrEqual(1);
    expect(of('ws_session_duration')[0]!.data.value).toBeGreaterThanOrEqual(
      of('ws_connecting')[0]!.data.value,
    );
  });

  it('iteration samples carry the scenario and group, as k6', () => {
    const iteration = of('iterations')[0]!;
    expect(Object.keys(iteration.data.tags!).sort()).toEqual(K6_TAG_KEYS.iteration);
  });
});

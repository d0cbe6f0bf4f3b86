/**
 * A k6 `--out json` file as k6 writes it for the mixed scenario: per request
 * the nine http_req_* points with k6's system tags (expected_response, group,
 * method, name, proto, scenario, status, url) and the scenarios' own
 * (station, endpoint), then the iteration's checks, data_sent,
 * data_received, iteration_duration and iterations; vus every second;
 * dropped_iterations now and then. Metric lines the first time a metric is
 * seen. Times in Go's RFC3339Nano (trailing zeros trimmed), 2,000 requests/s.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ENDPOINT_CLASSES } from '../../src/mastodon/classes.js';
import { exponential, seededRng } from '../../src/shared/random.js';

const START_MS = Date.UTC(2026, 11, 3, 14, 0, 0);
const REQUESTS_PER_SEC = 2000;
const BATCH_BYTES = 4 << 20;
/** Median response time per station, ms (log-normal, σ 0.6). */
const MEDIAN_MS = [40, 60, 30, 120, 50, 400, 25, 300];
const METRIC_TYPES: Record<string, [string, string]> = {
  http_reqs: ['counter', 'default'],
  http_req_failed: ['rate', 'default'],
  checks: ['rate', 'default'],
  data_sent: ['counter', 'data'],
  data_received: ['counter', 'data'],
  iterations: ['counter', 'default'],
  dropped_iterations: ['counter', 'default'],
  vus: ['gauge', 'default'],
};
const HTTP_TRENDS = [
  'http_req_duration',
  'http_req_blocked',
  'http_req_connecting',
  'http_req_tls_handshaking',
  'http_req_sending',
  'http_req_waiting',
  'http_req_receiving',
];

/** Go's RFC3339Nano of ms since the epoch plus a nanosecond remainder (trailing zeros trimmed). */
function goTime(ms: number, extraNs: number): string {
  const whole = Math.floor(ms);
  const ns = (whole % 1000) * 1e6 + Math.floor((ms - whole) * 1e6) + extraNs;
  const base = new Date(whole - (whole % 1000)).toISOString().slice(0, 19);
  const frac = String(ns).padStart(9, '0').replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** What one generated file holds, to check the aggregations against. */
export interface Generated {
  bytes: number;
  requests: number;
  lines: number;
}

/** Write about `sizeBytes` of k6 JSON output to `path` (seeded: the same size gives the same file). */
export function generateK6Json(path: string, sizeBytes: number): Generated {
  const rng = seededRng(9);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const fd = openSync(path, 'w');
  const seen = new Set<string>();
  const out = { bytes: 0, requests: 0, lines: 0 };
  let buf: string[] = [];
  let bufChars = 0;
  const emit = (line: string) => {
    buf.push(line);
    bufChars += line.length + 1;
    out.lines++;
  };
  const point = (metric: string, time: string, value: number, tags: string) => {
    if (!seen.has(metric)) {
      seen.add(metric);
      const [type, contains] = METRIC_TYPES[metric] ?? ['trend', 'time'];
      emit(
        `{"type":"Metric","data":{"name":"${metric}","type":"${type}","contains":"${contains}","thresholds":[],"submetrics":null},"metric":"${metric}"}`,
      );
    }
    emit(`{"type":"Point","data":{"time":"${time}","value":${value},"tags":${tags}},"metric":"${metric}"}`);
  };
  let nextSecond = START_MS;
  while (out.bytes < sizeBytes) {
    const i = out.requests++;
    const ms = START_MS + (i * 1000) / REQUESTS_PER_SEC + exponential(rng, 0.3);
    if (ms >= nextSecond) {
      point('vus', goTime(nextSecond, 0), 200, '{}');
      if (rng.next() < 0.1) point('dropped_iterations', goTime(nextSecond, 7), 1, '{"scenario":"inbound"}');
      nextSecond += 1000;
    }
    const s = Math.floor(rng.next() * ENDPOINT_CLASSES.length);
    const station = ENDPOINT_CLASSES[s]!;
    const u = rng.next();
    const status = u < 0.02 ? '429' : u < 0.03 ? '503' : '200';
    const durationMs = Number((MEDIAN_MS[s]! * Math.exp(0.6 * normal())).toFixed(6));
    const name = station.startsWith('inbox') ? '/inbox' : `/api/v1/${station}`;
    const method = station.includes('/') && !station.startsWith('timelines') ? 'POST' : 'GET';
    const scenario = station.startsWith('inbox') ? 'inbound' : 'users';
    const tags = `{"endpoint":"${name.slice(1)}#show","expected_response":"${status === '200'}","group":"","method":"${method}","name":"${name}","proto":"HTTP/1.1","scenario":"${scenario}","station":"${station}","status":"${status}","url":"http://127.0.0.1:3000${name}?limit=20&n=${i % 997}"}`;
    const time = goTime(ms, Math.floor(rng.next() * 1000));
    point('http_reqs', time, 1, tags);
    for (const trend of HTTP_TRENDS) {
      const v = trend === 'http_req_duration' || trend === 'http_req_waiting' ? durationMs : 0.01;
      point(trend, time, v, tags);
    }
    point('http_req_failed', time, status === '200' ? 0 : 1, tags);
    const iterTags = `{"group":"","scenario":"${scenario}","station":"${station}"}`;
    point(
      'checks',
      time,
      status === '200' ? 1 : 0,
      `{"check":"${station} answered 200","group":"","scenario":"${scenario}"}`,
    );
    point('data_sent', time, 412, iterTags);
    point('data_received', time, 2301, iterTags);
    point('iteration_duration', time, durationMs + 0.2, iterTags);
    point('iterations', time, 1, iterTags);
    if (bufChars >= BATCH_BYTES) {
      out.bytes += writeSync(fd, `${buf.join('\n')}\n`);
      buf = [];
      bufChars = 0;
    }
  }
  if (buf.length > 0) out.bytes += writeSync(fd, `${buf.join('\n')}\n`);
  closeSync(fd);
  return out;
}

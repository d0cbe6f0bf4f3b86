import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusSampler } from '../../../src/collect/prometheus.js';
import { parsePrometheusText } from '../../../src/collect/prometheusText.js';
import type { Sample } from '../../../src/collect/sample.js';
import {
  canonicalExporterName,
  GEM_METRICS,
  STREAMING_METRICS,
} from '../../../src/mastodon/exporterMetrics.js';
import { startTestTestbed, type TestbedFixture } from '../../support/testbed.js';

const TIME = '2026-08-01T12:00:00.000Z';

/** A loopback HTTP server whose answer the test sets; it records the Authorization header it saw. */
class ExpositionServer {
  body = '';
  status = 200;
  /** Never answer (a hung exporter). */
  hang = false;
  seenAuthorization: string | undefined;
  private readonly server = http.createServer((req, res) => {
    this.seenAuthorization = req.headers.authorization;
    if (this.hang) return;
    res.writeHead(this.status, { 'content-type': 'text/plain; version=0.0.4' }).end(this.body);
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/metrics`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const find = (samples: Sample[], metric: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples: Sample[], metric: string, labels: Record<string, string> = {}) => {
  const found = find(samples, metric, labels);
  expect(found, `${metric} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!.value;
};

describe('PrometheusSampler on prom-client output', () => {
  const server = new ExpositionServer();
  const registry = new Registry();
  beforeAll(async () => {
    await server.start();
    const jobs = new Counter({
      name: 'jobs_total',
      help: 'jobs',
      labelNames: ['queue'],
      registers: [registry],
    });
    jobs.inc({ queue: 'push' }, 7);
    jobs.inc({ queue: 'default' }, 2);
    new Gauge({ name: 'backlog', help: 'backlog', registers: [registry] }).set(42);
    new Gauge({ name: 'broken', help: 'NaN gauge', registers: [registry] }).set(Number.NaN);
    const h = new Histogram({
      name: 'req_seconds',
      help: 'requests',
      labelNames: ['action'],
      buckets: [0.1, 1],
      registers: [registry],
    });
    for (const v of [0.05, 0.5, 0.7, 3]) h.observe({ action: 'show' }, v);
    h.observe({ action: 'index' }, 0.01);
    const s = new Summary({
      name: 'job_seconds',
      help: 'job durations',
      labelNames: ['job_name'],
      percentiles: [0.5, 0.99],
      registers: [registry],
    });
    for (let i = 1; i <= 100; i++) s.observe({ job_name: 'A' }, i / 100);
    s.observe({ job_name: 'B' }, 2);
    server.body = await registry.metrics();
  });
  afterAll(() => server.stop());

  it('emits counters and gauges as they are, each labelled with the endpoint, skipping NaN', async () => {
    const samples = await new PrometheusSampler(server.url).sample(TIME);
    expect(one(samples, 'jobs_total', { queue: 'push' })).toBe(7);
    expect(one(samples, 'jobs_total', { queue: 'default' })).toBe(2);
    expect(one(samples, 'backlog')).toBe(42);
    expect(find(samples, 'broken')).toEqual([]);
    for (const s of samples) {
      expect(s).toMatchObject({ time: TIME, source: 'prometheus' });
      expect(s.labels.endpoint).toBe(server.url);
    }
  });

  it('emits a labelled histogram as NAME_bucket{le}, NAME_sum, NAME_count per label set', async () => {
    const samples = await new PrometheusSampler(server.url).sample(TIME);
    expect(one(samples, 'req_seconds_bucket', { action: 'show', le: '0.1' })).toBe(1);
    expect(one(samples, 'req_seconds_bucket', { action: 'show', le: '1' })).toBe(3);
    expect(one(samples, 'req_seconds_bucket', { action: 'show', le: '+Inf' })).toBe(4);
    expect(one(samples, 'req_seconds_sum', { action: 'show' })).toBeCloseTo(4.25, 10);
    expect(one(samples, 'req_seconds_count', { action: 'show' })).toBe(4);
    expect(one(samples, 'req_seconds_count', { action: 'index' })).toBe(1);
    expect(one(samples, 'req_seconds_bucket', { action: 'index', le: '0.1' })).toBe(1);
  });

  it('emits a labelled summary as NAME{quantile}, NAME_sum, NAME_count per label set', async () => {
    const samples = await new PrometheusSampler(server.url).sample(TIME);
    expect(one(samples, 'job_seconds', { job_name: 'A', quantile: '0.5' })).toBeCloseTo(0.505, 2);
    expect(one(samples, 'job_seconds', { job_name: 'A', quantile: '0.99' })).toBeCloseTo(0.995, 2);
    expect(one(samples, 'job_seconds_sum', { job_name: 'A' })).toBeCloseTo(50.5, 10);
    expect(one(samples, 'job_seconds_count', { job_name: 'A' })).toBe(100);
    expect(one(samples, 'job_seconds_count', { job_name: 'B' })).toBe(1);
    expect(one(samples, 'job_seconds_sum', { job_name: 'B' })).toBe(2);
  });
});

/** The gem's standalone exporter's text (Metric::Summary#metric_text, Counter, Gauge) with its `ruby_` prefix. */
const GEM_TEXT = `# HELP ruby_sidekiq_job_duration_seconds Total time spent in sidekiq jobs.
# TYPE ruby_sidekiq_job_duration_seconds summary
ruby_sidekiq_job_duration_seconds{job_name="ActivityPub::DeliveryWorker",queue="push",quantile="0.99"} 1.5
ruby_sidekiq_job_duration_seconds{job_name="ActivityPub::DeliveryWorker",queue="push",quantile="0.5"} 0.25
ruby_sidekiq_job_duration_seconds_sum{job_name="ActivityPub::DeliveryWorker",queue="push"} 40.0
ruby_sidekiq_job_duration_seconds_count{job_name="ActivityPub::DeliveryWorker",queue="push"} 120
ruby_sidekiq_job_duration_seconds{job_name="FeedInsertWorker",queue="default",quantile="0.99"} 0.02
ruby_sidekiq_job_duration_seconds_sum{job_name="FeedInsertWorker",queue="default"} 3.0
ruby_sidekiq_job_duration_seconds_count{job_name="FeedInsertWorker",queue="default"} 600

# HELP ruby_sidekiq_jobs_total Total number of sidekiq jobs executed.
# TYPE ruby_sidekiq_jobs_total counter
ruby_sidekiq_jobs_total{job_name="ActivityPub::DeliveryWorker",queue="push"} 120
# HELP ruby_sidekiq_queue_latency_seconds Latency of the sidekiq queue.
# TYPE ruby_sidekiq_queue_latency_seconds gauge
ruby_sidekiq_queue_latency_seconds{queue="push"} 3
# HELP ruby_http_request_duration_seconds Time spent in HTTP reqs in seconds.
# TYPE ruby_http_request_duration_seconds summary
ruby_http_request_duration_seconds{controller="api/v1/timelines/home",action="show",quantile="0.99"} NaN
ruby_http_request_duration_seconds_sum{controller="api/v1/timelines/home",action="show"} 0.0
ruby_http_request_duration_seconds_count{controller="api/v1/timelines/home",action="show"} 0
# TYPE node_load1 gauge
node_load1 +Inf
# TYPE h histogram
h_bucket{le="+Inf"} 5
h_sum 1e-3
h_count 5`;

describe("PrometheusSampler on the prometheus_exporter gem's standalone (ruby_) exposition", () => {
  const server = new ExpositionServer();
  beforeAll(async () => {
    await server.start();
    server.body = GEM_TEXT;
  });
  afterAll(() => server.stop());

  it('keeps the exposed names; canonicalExporterName reads them as Mastodon local mode names them', async () => {
    const samples = await new PrometheusSampler(server.url).sample(TIME);
    const delivery = { job_name: 'ActivityPub::DeliveryWorker', queue: 'push' };
    expect(one(samples, 'ruby_sidekiq_job_duration_seconds', { ...delivery, quantile: '0.99' })).toBe(1.5);
    expect(one(samples, 'ruby_sidekiq_job_duration_seconds_sum', delivery)).toBe(40);
    expect(one(samples, 'ruby_sidekiq_job_duration_seconds_count', delivery)).toBe(120);
    expect(one(samples, 'ruby_sidekiq_job_duration_seconds_count', { queue: 'default' })).toBe(600);
    const canonical = samples.map((s) => ({ ...s, metric: canonicalExporterName(s.metric) }));
    expect(one(canonical, 'sidekiq_jobs_total', delivery)).toBe(120);
    expect(one(canonical, 'sidekiq_queue_latency_seconds', { queue: 'push' })).toBe(3);
    expect(one(canonical, 'sidekiq_job_duration_seconds_count', delivery)).toBe(120);
  });

  it('skips NaN quantiles and an infinite gauge, keeps a +Inf bucket (its le label) and a last line without newline', async () => {
    const samples = await new PrometheusSampler(server.url).sample(TIME);
    expect(find(samples, 'ruby_http_request_duration_seconds')).toEqual([]);
    expect(one(samples, 'ruby_http_request_duration_seconds_count')).toBe(0);
    expect(find(samples, 'node_load1')).toEqual([]);
    expect(one(samples, 'h_bucket', { le: '+Inf' })).toBe(5);
    expect(one(samples, 'h_sum')).toBe(0.001);
    expect(one(samples, 'h_count')).toBe(5);
  });
});

describe('PrometheusSampler gaps', () => {
  const server = new ExpositionServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it.each([
    ['a broken label set', 'up{job="a" 1\n', /not a Prometheus text exposition: .*invalid line/],
    ['a value that is not a number', 'up 1\nready yes\n', /ready: not a number: yes/],
    ['an HTML page', '<html><body>Not here</body></html>\n', /not a Prometheus text exposition/],
    ['a bad TYPE line', '# TYPE up gauge extra\nup 1\n', /line 1: not a TYPE line/],
    ['a repeated series', 'up 1\nup 1\n', /2 sample lines but 1 samples/],
  ])('rejects %s, naming the URL', async (_what, body, message) => {
    server.status = 200;
    server.body = body;
    const rejection = new PrometheusSampler(server.url).sample(TIME);
    await expect(rejection).rejects.toThrow(message);
    await expect(rejection).rejects.toThrow(server.url);
  });

  it('rejects an HTTP error status, a refused connection and a hung endpoint within its timeout', async () => {
    server.status = 503;
    server.body = 'busy';
    await expect(new PrometheusSampler(server.url).sample(TIME)).rejects.toThrow(
      `${server.url}: answered HTTP 503`,
    );
    const closed = new ExpositionServer();
    await closed.start();
    await closed.stop();
    await expect(new PrometheusSampler(closed.url).sample(TIME)).rejects.toThrow(
      `${closed.url}: ECONNREFUSED`,
    );
    server.hang = true;
    const t0 = Date.now();
    await expect(new PrometheusSampler(server.url, 300).sample(TIME)).rejects.toThrow(
      `${server.url}: no answer within 0.3 s`,
    );
    expect(Date.now() - t0).toBeLessThan(2_000);
    server.hang = false;
    server.status = 200;
  });

  it('sends user:password as Basic authorization and never shows the password', async () => {
    server.body = 'up 1\n';
    const secretUrl = server.url.replace('http://', 'http://scraper:s3cret-pw@');
    const sampler = new PrometheusSampler(secretUrl);
    const samples = await sampler.sample(TIME);
    expect(server.seenAuthorization).toBe(`Basic ${Buffer.from('scraper:s3cret-pw').toString('base64')}`);
    expect(sampler.name).toBe(server.url);
    expect(JSON.stringify(samples)).not.toContain('s3cret');
    server.status = 500;
    const err = await sampler.sample(TIME).catch((e: Error) => e);
    expect(String(err)).toContain(server.url);
    expect(String(err)).not.toContain('s3cret');
    server.status = 200;
  });

  it('renames an endpoint label of the exposition to exported_endpoint', async () => {
    server.body = 'probe_success{endpoint="https://example.test"} 1\n';
    const [s] = await new PrometheusSampler(server.url).sample(TIME);
    expect(s!.labels).toEqual({ endpoint: server.url, exported_endpoint: 'https://example.test' });
  });
});

describe("PrometheusSampler on the testbed's exporter", () => {
  let fx: TestbedFixture;
  beforeAll(async () => {
    fx = await startTestTestbed({ webConcurrency: 1, sidekiq: [] });
  }, 60_000);
  afterAll(() => fx?.stop());

  it("reads Mastodon's local-mode names with the gem's types and labels, and nothing prefixed mastodon_", async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${fx.url}/api/v1/instance`)).status).toBe(200);
    await fx.tb.sidekiq.push('ActivityPub::DeliveryWorker', ['{}', '1', 'https://x.example/inbox']);
    const sampler = new PrometheusSampler(`${fx.url}/metrics`);
    const instance = { controller: 'api/v1/instances', action: 'show' };
    // Each request's end reaches the primary's exporter after its response: bounded wait for the third.
    const samples = await waitForSamples(sampler, (s) => find(s, 'http_requests_total', instance).length > 0);
    expect(one(samples, 'http_requests_total', { ...instance, status: '200' })).toBe(3);
    expect(one(samples, 'http_request_duration_seconds_count', instance)).toBe(3);
    expect(one(samples, 'http_request_duration_seconds', { ...instance, quantile: '0.99' })).toBeGreaterThan(
      0,
    );
    expect(one(samples, 'http_request_queue_duration_seconds_count', instance)).toBe(3);
    expect(one(samples, 'sidekiq_queue_backlog', { queue: 'push' })).toBe(1);
    expect(one(samples, 'sidekiq_queue_latency_seconds', { queue: 'push' })).toBeGreaterThanOrEqual(0);
    expect(one(samples, 'sidekiq_stats_enqueued')).toBe(1);
    expect(one(samples, 'connected_clients', { type: 'websocket' })).toBe(0);
    for (const s of samples) {
      expect(s.labels.endpoint).toBe(`${fx.url}/metrics`);
      const base = s.metric.replace(/_(sum|count|bucket)$/, '');
      if (s.metric.startsWith('fedicap_testbed_')) continue; // the testbed's own, not Mastodon's
      expect(Object.hasOwn(GEM_METRICS, base) || Object.hasOwn(STREAMING_METRICS, base), s.metric).toBe(true);
      expect(canonicalExporterName(s.metric)).toBe(s.metric);
    }
  });
});

/** Sample until `ready` holds (bounded: 50 tries, 100 ms apart). */
async function waitForSamples(
  sampler: PrometheusSampler,
  ready: (s: Sample[]) => boolean,
): Promise<Sample[]> {
  for (let i = 0; i < 50; i++) {
    const samples = await sampler.sample(TIME);
    if (ready(samples)) return samples;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the exporter never showed the requests');
}

describe('parsePrometheusText', () => {
  it('reads escaped label values, timestamps and comments', () => {
    const text =
      '# a comment\n# HELP x Some help\nx{path="C:\\\\DIR",msg="say \\"hi\\"\\n"} 2.5 1395066363000\n';
    expect(parsePrometheusText(text)).toEqual([
      { name: 'x', labels: { path: 'C:\\DIR', msg: 'say "hi"\n' }, value: 2.5 },
    ]);
  });

  it('gives an empty exposition no samples', () => {
    expect(parsePrometheusText('')).toEqual([]);
    expect(parsePrometheusText('# TYPE x counter\n')).toEqual([]);
  });
});

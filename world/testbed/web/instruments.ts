import { Counter, type Registry, Summary } from 'prom-client';
import { GEM_SUMMARY_QUANTILES, GEM_SUMMARY_ROTATE_SEC } from '../../../src/mastodon/exporterMetrics.js';

/**
 * The web metrics of the prometheus_exporter gem as Mastodon serves them with
 * MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS=true, unprefixed as in its local mode
 * (src/mastodon/exporterMetrics.ts; the gem's server/web_collector.rb, labels from middleware.rb's
 * default_labels: the Rails controller path and action):
 *
 * - `http_requests_total{controller, action, status}`: a counter;
 * - `http_request_duration_seconds{controller, action}`: a summary (the gem's default aggregation) of
 *   the time spent serving a request;
 * - `http_request_queue_duration_seconds{controller, action}`: a summary of the time a request waited
 *   before the app took it (the gem reads it from nginx's X-Request-Start; here the wait for a web thread).
 *
 * Like the gem's collector, the primary keeps them: each web worker reports every request's end, so
 * the quantiles are of all requests, not sums of per-worker quantiles.
 */
export interface WebInstruments {
  requestsTotal: Counter<'controller' | 'action' | 'status'>;
  durationSec: Summary<'controller' | 'action'>;
  queueDurationSec: Summary<'controller' | 'action'>;
}

/** One request's end, as the gem's middleware reports it to the collector. */
export interface FinishedRequest {
  controller: string;
  action: string;
  status: number;
  durationSec: number;
  queueSec: number;
}

/** The gem's summary quantiles and window (two age buckets of its rotation age: 120 to 240 s). */
export const GEM_SUMMARY = {
  percentiles: [...GEM_SUMMARY_QUANTILES].sort((a, b) => a - b),
  maxAgeSeconds: 2 * GEM_SUMMARY_ROTATE_SEC,
  ageBuckets: 2,
};

const byRegistry = new WeakMap<Registry, WebInstruments>();

function summary(registry: Registry, name: string, help: string): Summary<'controller' | 'action'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Summary<'controller' | 'action'>;
  return new Summary({
    name,
    help,
    labelNames: ['controller', 'action'],
    ...GEM_SUMMARY,
    registers: [registry],
  });
}

export function webInstruments(registry: Registry): WebInstruments {
  let found = byRegistry.get(registry);
  if (found) return found;
  const requestsName = 'http_requests_total';
  found = {
    requestsTotal:
      (registry.getSingleMetric(requestsName) as Counter<'controller' | 'action' | 'status'> | undefined) ??
      new Counter({
        name: requestsName,
        help: 'Total HTTP requests from web app.',
        labelNames: ['controller', 'action', 'status'],
        registers: [registry],
      }),
    durationSec: summary(registry, 'http_request_duration_seconds', 'Time spent in HTTP reqs in seconds.'),
    queueDurationSec: summary(
      registry,
      'http_request_queue_duration_seconds',
      'Time spent queueing the request in load balancer in seconds.',
    ),
  };
  byRegistry.set(registry, found);
  return found;
}

/** Count a finished request in the registry's instruments. */
export function recordRequest(registry: Registry, request: FinishedRequest): void {
  const instruments = webInstruments(registry);
  const labels = { controller: request.controller, action: request.action };
  instruments.requestsTotal.inc({ ...labels, status: String(request.status) });
  instruments.durationSec.observe(labels, request.durationSec);
  instruments.queueDurationSec.observe(labels, request.queueSec);
}

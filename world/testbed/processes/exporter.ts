import { AggregatorRegistry, type Registry } from 'prom-client';
import type { ForkedProcess } from './fork.js';

/**
 * The prometheus_exporter's collector: what every process of the testbed measures, in one text. The
 * primary's registry holds Sidekiq's state read from Redis and each job's end as the Sidekiq processes
 * report it (so job duration quantiles come from every job, as in the gem's collector); each child's
 * own (web workers' request histograms, streaming's clients) is merged in, counters, gauges and
 * histogram buckets summed across processes.
 */
export async function exporterText(own: Registry, children: readonly ForkedProcess[]): Promise<string> {
  const parts = await Promise.all([own.getMetricsAsJSON(), ...children.map((c) => c.collect())]);
  return AggregatorRegistry.aggregate(parts.filter((p) => p !== undefined)).metrics();
}

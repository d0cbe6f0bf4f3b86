import { describe, expect, it } from 'vitest';
import {
  canonicalExporterName,
  GEM_METRICS,
  STREAMING_METRICS,
} from '../../../src/mastodon/exporterMetrics.js';

describe('canonicalExporterName', () => {
  it("strips the standalone exporter's ruby_ prefix from the gem's names and their series", () => {
    expect(canonicalExporterName('ruby_sidekiq_jobs_total')).toBe('sidekiq_jobs_total');
    expect(canonicalExporterName('ruby_sidekiq_job_duration_seconds')).toBe('sidekiq_job_duration_seconds');
    expect(canonicalExporterName('ruby_sidekiq_job_duration_seconds_sum')).toBe(
      'sidekiq_job_duration_seconds_sum',
    );
    expect(canonicalExporterName('ruby_http_request_duration_seconds_count')).toBe(
      'http_request_duration_seconds_count',
    );
    expect(canonicalExporterName('ruby_sidekiq_stats_processed')).toBe('sidekiq_stats_processed');
    expect(canonicalExporterName('ruby_rss')).toBe('rss');
  });

  it('leaves local-mode names, other exporters and unknown ruby_ names as they are', () => {
    expect(canonicalExporterName('sidekiq_queue_backlog')).toBe('sidekiq_queue_backlog');
    expect(canonicalExporterName('node_cpu_seconds_total')).toBe('node_cpu_seconds_total');
    expect(canonicalExporterName('connected_clients')).toBe('connected_clients');
    expect(canonicalExporterName('ruby_yjit_code_size')).toBe('ruby_yjit_code_size');
    expect(canonicalExporterName('ruby_')).toBe('ruby_');
  });

  it('names no metric mastodon_ (Mastodon adds no prefix of its own)', () => {
    for (const name of [...Object.keys(GEM_METRICS), ...Object.keys(STREAMING_METRICS)])
      expect(name).not.toMatch(/^(mastodon|ruby)_/);
    expect(GEM_METRICS.sidekiq_job_duration_seconds).toEqual({
      type: 'summary',
      labels: ['job_name', 'queue'],
    });
  });
});

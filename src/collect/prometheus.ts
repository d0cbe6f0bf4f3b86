import { withoutCredentials } from '../shared/urlSecrets.js';
import { parsePrometheusText } from './prometheusText.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/** A scrape that has not answered in this long is a gap (Prometheus's own default scrape_timeout is 10 s). */
export const SCRAPE_TIMEOUT_MS = 5_000;

/** What Prometheus asks for when it wants the text format 0.0.4 (not OpenMetrics, whose exemplars we skip). */
const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

/**
 * A Prometheus text endpoint (Mastodon's exporter, its streaming server, node_exporter, cAdvisor),
 * scraped with a GET per interval. Every sample line becomes a Sample under its exposed name (a
 * histogram's `NAME_bucket{le}`, `NAME_sum`, `NAME_count`; a summary's `NAME{quantile}`, `NAME_sum`,
 * `NAME_count`), labelled `endpoint` with the URL (an `endpoint` label of its own becomes
 * `exported_endpoint`, as Prometheus does). NaN and infinite values are skipped: a Sample's value is a
 * number a reader can add. `user:password@` in the URL is sent as Basic authorization, never shown.
 * The gem's `ruby_` names are kept as exposed; readers use canonicalExporterName.
 */
export class PrometheusSampler implements Sampler {
  readonly source = 'prometheus' as const;
  readonly name: string;
  private readonly target: string;
  private readonly authorization: string | undefined;

  constructor(
    url: string,
    private readonly timeoutMs = SCRAPE_TIMEOUT_MS,
  ) {
    const parsed = new URL(url);
    this.authorization =
      parsed.username || parsed.password
        ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
        : undefined;
    parsed.username = '';
    parsed.password = '';
    this.target = parsed.toString();
    this.name = withoutCredentials(url);
  }

  async sample(time: string): Promise<Sample[]> {
    const text = await this.scrape();
    let series: ReturnType<typeof parsePrometheusText>;
    try {
      series = parsePrometheusText(text);
    } catch (err) {
      throw new Error(`${this.name}: not a Prometheus text exposition: ${(err as Error).message}`);
    }
    const samples: Sample[] = [];
    for (const s of series) {
      if (!Number.isFinite(s.value)) continue;
      const labels = { ...s.labels };
      if (labels.endpoint !== undefined) labels.exported_endpoint = labels.endpoint;
      labels.endpoint = this.name;
      samples.push({ time, source: this.source, metric: s.name, value: s.value, labels });
    }
    return samples;
  }

  private async scrape(): Promise<string> {
    const headers: Record<string, string> = { accept: ACCEPT };
    if (this.authorization) headers.authorization = this.authorization;
    try {
      const res = await fetch(this.target, {
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`answered HTTP ${res.status}`);
      }
      return await res.text();
    } catch (err) {
      throw new Error(`${this.name}: ${scrapeFailure(err, this.timeoutMs)}`);
    }
  }

  async close(): Promise<void> {}
}

/** Why a scrape failed, in words (fetch's own message is "fetch failed"; the reason is its cause). */
function scrapeFailure(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  if (e.cause) return e.cause.code ?? e.cause.message ?? e.message;
  return e.message;
}

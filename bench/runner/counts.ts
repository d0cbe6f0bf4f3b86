/**
 * What counts as throughput in bench:runner: only the requests answered as
 * expected. A refused connection is a response too (status 0) and must not
 * be counted as served.
 */

/** What a run's summary says of its requests: answered as expected, and failed. */
export function requestCounts(
  metrics: Readonly<Record<string, { values: Record<string, number> } | undefined>>,
): {
  ok: number;
  failed: number;
} {
  const total = metrics.http_reqs?.values.count ?? 0;
  // http_req_failed is a Rate: its passes are the requests that failed (k6's expected statuses: 2xx/3xx).
  const failed = metrics.http_req_failed?.values.passes ?? total;
  return { ok: total - failed, failed };
}

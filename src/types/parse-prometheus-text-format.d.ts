// Typings for parse-prometheus-text-format 1.1.1 (it ships none): the prom2json-like shape its README shows.
declare module 'parse-prometheus-text-format' {
  export interface ParsedMetric {
    /** Untyped, counter and gauge samples: the value as written ("1.5", "NaN", "+Inf"). */
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    /** Histograms: upper bound → cumulative count. */
    buckets?: Record<string, string>;
    /** Summaries: quantile → value. */
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface ParsedFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: ParsedMetric[];
  }
  /** Throws (InvalidLineError) on a line it cannot parse. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}

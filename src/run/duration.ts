/**
 * k6 duration strings ("30s", "1m30s", "500ms", "1.5h") as milliseconds.
 * k6 accepts Go's time.ParseDuration syntax; a bare number in a duration
 * option is milliseconds (as in k6's `timeout` param).
 */
const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

export function parseDurationMs(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new Error(`${what}: expected a non-negative duration, got ${value}`);
  }
  if (typeof value !== 'string')
    throw new Error(`${what}: expected a duration like "30s", got ${JSON.stringify(value)}`);
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length)
    throw new Error(`${what}: "${value}" is not a duration like "30s", "1m30s" or "500ms"`);
  return total;
}

/** "1m30s"-style rendering for messages. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(1))}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest ? `${m}m${rest}s` : `${m}m`;
}

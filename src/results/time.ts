/**
 * RFC 3339 date-times as k6 and the collector write them: fractional seconds
 * of any length (k6 writes nanoseconds) and `Z` or a numeric offset.
 */

/**
 * RFC 3339 §5.6 `date-time`, with fields in range (leap seconds excluded: Date.parse rejects them), so
 * that Date.parse of a string that passes never returns NaN. Upper-case `T` and `Z`, as k6 writes them.
 */
export const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Milliseconds since the epoch of a time checked against RFC3339 (sub-millisecond digits dropped). */
export function timeMs(rfc3339: string): number {
  return Date.parse(rfc3339);
}

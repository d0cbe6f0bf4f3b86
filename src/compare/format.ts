/** Numbers of a comparison as people read them: values in their unit, changes signed, shares in %. */
import type { Row, Unit } from './comparison.js';

/** A value in its unit: `166 ms`, `12.4 req/s`, `3.20 %`, `0.41 cores`. */
export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return '–';
  if (unit === 'share') return `${(value * 100).toFixed(2)} %`;
  if (unit === 'cores') return `${value.toFixed(2)} cores`;
  if (unit === 'threads') return `${value.toFixed(1)} threads`;
  return `${significant(value)} ${unit}`;
}

/** A signed difference in the unit: `+0.6 ms`, `-1.2 req/s`, `+3.1 points` for shares. */
export function formatDifference(value: number, unit: Unit): string {
  const sign = value > 0 ? '+' : value < 0 ? '−' : '±';
  if (unit === 'share') return `${sign}${(Math.abs(value) * 100).toFixed(2)} points`;
  return `${sign}${formatValue(Math.abs(value), unit)}`;
}

/** A signed relative change: `+38 %`, `−4.2 %`, `+∞ %` (from 0). */
export function formatPercent(relative: number): string {
  if (relative === Number.POSITIVE_INFINITY) return '+∞ %';
  if (!Number.isFinite(relative)) return '–';
  const pct = relative * 100;
  const sign = pct > 0 ? '+' : pct < 0 ? '−' : '±';
  const digits = Math.abs(pct) >= 10 || pct === 0 ? 0 : 1;
  return `${sign}${Math.abs(pct).toFixed(digits)} %`;
}

/** The change and its interval: relative for most rows, in points for shares. */
export function formatChange(row: Row): { change: string; interval: string } {
  const c = row.change;
  if (row.unit === 'share' || c.base === 0) {
    return {
      change: formatDifference(c.difference, row.unit),
      interval: `${formatDifference(c.low, row.unit)} to ${formatDifference(c.high, row.unit)}`,
    };
  }
  return {
    change: formatPercent(c.ratio - 1),
    interval: `${formatPercent(c.relativeLow)} to ${formatPercent(c.relativeHigh)}`,
  };
}

/** A p-value: `p < 0.001`, `p = 0.012`, `–` when no rank test applies. */
export function formatP(p: number | null): string {
  if (p === null) return '–';
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

/** Three significant digits, without exponent notation for the values runs produce. */
function significant(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 6));
}

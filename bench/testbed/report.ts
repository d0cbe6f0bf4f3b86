/** How the benchmark prints: lines, numbers, status counts and the closing summary table. */
import { loadavg } from 'node:os';
import type { SendStats } from './protocol.js';

export const out = (line = '') => console.log(line);

/** A number with `digits` decimals and thousands separators; n/a when not finite. */
export const f = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

export const statusText = (s: SendStats) =>
  Object.entries(s.byStatus)
    .map(([k, v]) => `${v}×${k}`)
    .join(', ') + (s.errors ? `, ${s.errors} errors (first: ${s.firstError})` : '');

export const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

export interface SummaryRow {
  what: string;
  figure: string;
  target: string;
}

export function printSummary(rows: SummaryRow[]): void {
  out();
  out('== summary ==');
  const w1 = Math.max(...rows.map((r) => r.what.length));
  const w2 = Math.max(...rows.map((r) => r.figure.length));
  out(`${'what'.padEnd(w1)} | ${'figure'.padEnd(w2)} | ratio / target`);
  out(`${'-'.repeat(w1)}-|-${'-'.repeat(w2)}-|-${'-'.repeat(30)}`);
  for (const r of rows) out(`${r.what.padEnd(w1)} | ${r.figure.padEnd(w2)} | ${r.target}`);
}

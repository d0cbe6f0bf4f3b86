/**
 * Charts as inline SVG: a vega-lite spec compiled to vega and rendered by vega's SVG
 * renderer in Node (no DOM, no canvas, no script in the page). Every chart of every
 * report goes through `chartSvg`, so they share one look and one size policy.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Fonts the reader's machine has: nothing is fetched, so no web font. */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  background: 'white',
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#e5e5e5' },
  legend: { labelFontSize: 10, titleFontSize: 11, orient: 'bottom' },
  header: { labelFontSize: 11, labelLimit: 320 },
  view: { stroke: '#ccc' },
};

/**
 * vega-lite's warnings (a conflicting scale, an encoding it drops) are kept, not printed: they
 * say a spec is wrong, which is the tests' business (`compileChart`), never the user's stderr.
 */
function collectingLogger(warnings: string[]) {
  let current = 2;
  const logger = {
    level(l?: number) {
      if (l === undefined) return current;
      current = l;
      return logger;
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
    error(...args: readonly unknown[]): never {
      throw new Error(`vega-lite: ${args.join(' ')}`);
    },
  };
  return logger;
}

/** A vega-lite spec compiled to vega, with the warnings the compiler gave. */
export function compileChart(spec: TopLevelSpec) {
  const warnings: string[] = [];
  const full = { ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec;
  const compiled = compile(full, { logger: collectingLogger(warnings) }).spec;
  return { compiled, warnings };
}

/** Render a vega-lite spec to an SVG string; `description` becomes the chart's accessible name. */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compileChart(spec).compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A "YYYY-MM" month as the first day of that month, read as UTC by the charts' utc scales. */
export const monthStart = (month: string) => `${month}-01`;

/** The month after a "YYYY-MM" month ("2026-12" → "2027-01"): where a band reaching past the horizon ends. */
export function nextMonth(month: string): string {
  const [y = 0, m = 1] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** A time axis over months, in UTC so that the reader's time zone moves nothing. */
export const monthAxis = (title: string | null = null) => ({
  type: 'temporal' as const,
  scale: { type: 'utc' as const },
  axis: { format: '%Y-%m', labelAngle: -40, title },
});

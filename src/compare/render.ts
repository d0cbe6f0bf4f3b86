/**
 * The renderers of a comparison, by format: the one seam an HTML report (issue 13) plugs into. JSON is
 * the Comparison itself, with non-finite numbers (a ratio from 0) written as null.
 */
import type { Comparison } from './comparison.js';
import { comparisonMarkdown } from './markdown.js';

export const COMPARE_FORMATS = ['md', 'json', 'html'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

export const renderers: Record<
  CompareFormat,
  { fileName: string; render: (c: Comparison) => string | Promise<string> }
> = {
  md: { fileName: 'compare.md', render: comparisonMarkdown },
  // Loaded when asked for: vega and vega-lite are for HTML only.
  html: {
    fileName: 'compare.html',
    render: async (c) => (await import('../report/html/compareHtml.js')).comparisonHtml(c),
  },
  json: {
    fileName: 'compare.json',
    render: (c) =>
      `${JSON.stringify(c, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  },
};

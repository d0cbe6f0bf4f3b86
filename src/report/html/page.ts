/**
 * The pieces every HTML report is made of: one self-contained page (inline CSS, no script,
 * no font or image from the network, print rules for A4), sections, and charts that always
 * come with their data as a table (readable without the chart and by screen readers).
 */

/** Text into HTML, safe in element content and in double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escaped text whose `backtick spans` (Mastodon settings, ids) become <code>. */
export function inlineCode(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? `<code>${escapeHtml(part.slice(1, -1))}</code>`
        : escapeHtml(part),
    )
    .join('');
}

/**
 * A table cell. `value` is the number the cell shows, kept exact in `data-value` so that a
 * reader (or a test) can check the page against the JSON it was built from.
 */
export interface Cell {
  text: string;
  value?: number | string | null;
  /** Already-escaped HTML instead of text (for <code> and emphasis). */
  html?: string;
  strong?: boolean;
}

export type CellInput = Cell | string;

const asCell = (c: CellInput): Cell => (typeof c === 'string' ? { text: c } : c);

function cellHtml(c: Cell, tag: 'td' | 'th'): string {
  // null (no date within the horizon, an unbounded wait) has no value to keep: the text says it.
  const value =
    c.value === undefined || c.value === null ? '' : ` data-value="${escapeHtml(String(c.value))}"`;
  // Figures align right for comparison; words read from the left.
  const scope = tag === 'th' ? ' scope="row"' : typeof c.value === 'number' ? ' class="num"' : '';
  const body = c.html ?? escapeHtml(c.text);
  return `<${tag}${scope}${value}>${c.strong ? `<strong>${body}</strong>` : body}</${tag}>`;
}

export interface TableInput {
  caption: string;
  /** Column headers; the first names the row headers' column. */
  head: string[];
  /** Each row: its header cell first, then the data cells. */
  rows: CellInput[][];
  className?: string;
  /** A header row above `head` grouping its columns (a component over its before and after). */
  groups?: { label: string; span: number }[];
}

/** A data table: <caption>, column headers with scope="col", the first cell of each row a row header. */
export function dataTable(t: TableInput): string {
  const groups = t.groups
    ? `<tr>${t.groups.map((g) => `<th scope="colgroup" colspan="${g.span}">${escapeHtml(g.label)}</th>`).join('')}</tr>`
    : '';
  const head = `${groups}<tr>${t.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((row) => {
    const [first, ...rest] = row.map(asCell);
    return `<tr>${first ? cellHtml(first, 'th') : ''}${rest.map((c) => cellHtml(c, 'td')).join('')}</tr>`;
  });
  const cls = t.className ? ` class="${t.className}"` : '';
  return (
    `<table${cls}><caption>${escapeHtml(t.caption)}</caption>` +
    `<thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** A chart and its data: the SVG in a <figure> with its caption, the table right below it. */
export function chartFigure(id: string, caption: string, svg: string, table: string): string {
  return (
    `<figure id="${id}" class="chart"><figcaption>${escapeHtml(caption)}</figcaption>` +
    `<div class="svg">${svg}</div><div class="data">${table}</div></figure>`
  );
}

/** A section with a heading; `id` makes it addressable (and testable). */
export function section(id: string, heading: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(heading)}</h2>${body}</section>`;
}

export const paragraph = (html: string) => `<p>${html}</p>`;

/** A warning box (not calibrated, no samples): said where it cannot be missed. */
export const warning = (html: string) => `<p class="warning" role="note">${html}</p>`;

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  max-width: 1080px; margin: 1.5rem auto; padding: 0 1rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .6rem;
  border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
p.meta { color: #555; margin-top: 0; }
p.warning { background: #fff4e5; border-left: 4px solid #e67e00; padding: .5rem .8rem; }
code { font: .9em ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f3f3f3;
  padding: 0 .2em; overflow-wrap: anywhere; }
figure.chart { margin: 1rem 0 1.6rem; }
figure.chart figcaption { font-weight: 600; margin-bottom: .4rem; }
figure.chart .svg svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 12px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; caption-side: top; }
th, td { border: 1px solid #ddd; padding: .15rem .45rem; vertical-align: top; }
thead th { background: #f5f5f5; }
td { text-align: left; } td.num { text-align: right; } th[scope=row] { text-align: left; }
th[scope=row] { font-weight: normal; overflow-wrap: anywhere; max-width: 22rem; }
table.wide th[scope=row] { white-space: nowrap; } thead th { overflow-wrap: anywhere; max-width: 12rem; }
td:has(strong) { background: #fdecea; }
ul.verdict li { margin: .2rem 0; }
details summary { cursor: pointer; color: #333; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure.chart .svg { break-inside: avoid; page-break-inside: avoid; }
  figcaption { break-after: avoid; page-break-after: avoid; }
  tr, th, td { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  section { break-before: auto; }
  details > *:not(summary) { display: block; }
  p.warning { border: 1px solid #e67e00; }
}
`;

/** The whole page: UTF-8, a restrictive CSP (nothing may load, nothing may run), inline CSS. */
export function htmlPage(title: string, meta: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="fedicap">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p class="meta">${meta}</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

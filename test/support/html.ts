import { expect } from 'vitest';

/**
 * Reading the HTML reports back in tests without a DOM library: the pages are ours and
 * regular (one <section id>, <figure id>, <table> each), so a few expressions find their parts.
 */

/** The inner HTML of the element with this id (a section or a figure); fails the test when absent. */
export function partById(html: string, id: string): string {
  const open = new RegExp(`<(section|figure)[^>]* id="${id}"[^>]*>`).exec(html);
  if (!open) throw new Error(`no element with id="${id}"`);
  const tag = open[1]!;
  const end = html.indexOf(`</${tag}>`, open.index);
  return html.slice(open.index + open[0].length, end);
}

/** The tables of a part, each as rows of cells: { text, value } (value from data-value, or null). */
export function tablesOf(part: string): { caption: string; head: string[]; rows: Cell[][] }[] {
  return [...part.matchAll(/<table[^>]*>([\s\S]*?)<\/table>/g)].map(([, body = '']) => ({
    caption: textOf(/<caption>([\s\S]*?)<\/caption>/.exec(body)?.[1] ?? ''),
    head: [
      ...(/<thead>([\s\S]*?)<\/thead>/.exec(body)?.[1] ?? '').matchAll(/<th scope="col">([\s\S]*?)<\/th>/g),
    ].map((m) => textOf(m[1] ?? '')),
    rows: [...(/<tbody>([\s\S]*?)<\/tbody>/.exec(body)?.[1] ?? '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(
      ([, row = '']) =>
        [...row.matchAll(/<(td|th)([^>]*)>([\s\S]*?)<\/\1>/g)].map(([, , attrs = '', inner = '']) => ({
          text: textOf(inner),
          value: decodeEntities(/data-value="([^"]*)"/.exec(attrs)?.[1] ?? null),
        })),
    ),
  }));
}

export interface Cell {
  text: string;
  value: string | null;
}

const decodeEntities = (s: string | null) =>
  s === null
    ? null
    : s
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');

/** Text content: tags dropped, entities decoded. */
export const textOf = (inner: string) => decodeEntities(inner.replace(/<[^>]+>/g, ''))!;

/** The ids of the page's sections, in order. */
export const sectionIds = (html: string) => [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]!);

/** What a self-contained page must not contain: anything that loads or runs. */
export function expectSelfContained(page: string): void {
  expect(page).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
  expect(page).not.toMatch(/\s(src|href)="/i);
  expect(page).toContain("default-src 'none'");
}

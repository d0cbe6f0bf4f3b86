import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../../src/shared/random.js';
import { attributePairs, elements, stripTags } from '../../../../world/testbed/activitypub/htmlScan.js';
import { extractLinkDetails, statusLinks } from '../../../../world/testbed/activitypub/linkCrawl.js';
import { randomOfPieces, timedMs } from '../../../support/fuzz.js';

/** The expressions linkCrawl.ts used before the scanner: the reference on inputs short enough for them. */
const reference = {
  anchors: (s: string) =>
    [...s.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)].map((m) => ({
      tag: m[0].slice(0, m[1]!.length + 3),
      inner: m[2],
    })),
  metas: (s: string) => [...s.matchAll(/<meta\b[^>]*>/gi)].map((m) => ({ tag: m[0], inner: '' })),
  title: (s: string) => /<title[^>]*>([\s\S]*?)<\/title>/i.exec(s)?.[1],
  strip: (s: string) => s.replace(/<[^>]*>/g, ''),
  pairs: (s: string) =>
    [...s.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)].map((m) => [
      m[1],
      m[2] ?? m[3] ?? m[4],
    ]),
};

const PIECES = [
  '<a',
  '<A',
  '<ab',
  '</a>',
  '</A>',
  '<meta',
  '<title>',
  '</title>',
  '<',
  '>',
  ' ',
  '\n',
  '=',
  '"',
  "'",
  'href',
  'class',
  'x',
  '-',
  ':',
  '_',
  '.',
  '9',
  'http://e.test/',
  '&amp;',
  'é',
];

describe('HTML scanning for the link crawler (linear, no backtracking on remote HTML)', () => {
  it('finds what the reference expressions found', () => {
    const rng = seededRng(5);
    for (let n = 0; n < 3000; n++) {
      const html = randomOfPieces(() => rng.next(), PIECES, 1 + (n % 50));
      const why = JSON.stringify(html);
      expect(elements(html, 'a', '</a>'), why).toEqual(reference.anchors(html));
      expect(elements(html, 'meta'), why).toEqual(reference.metas(html));
      expect(elements(html, 'title', '</title>', false)[0]?.inner, why).toEqual(reference.title(html));
      expect(stripTags(html), why).toBe(reference.strip(html));
      expect(attributePairs(html), why).toEqual(reference.pairs(html));
    }
  });

  it('reads links and cards as before', () => {
    const html =
      '<p>see <a href="https://e.test/x?a=1&amp;b=2" rel="nofollow">a <b>page</b></a> ' +
      '<a href="https://e.test/@bob" class="u-url mention">@bob</a> <a href="https://e.test/tags/x" rel="tag">#x</a></p>';
    expect(statusLinks(html, true)).toEqual(['https://e.test/x?a=1&b=2']);
    const page =
      '<html><head><TITLE>Fallback &amp; more</TITLE><meta property="og:title" content="Card"/>' +
      "<meta name='description' content=Plain><meta property=og:image content=/i.png></head></html>";
    expect(extractLinkDetails(page, 'https://e.test/p')).toEqual({
      title: 'Card',
      description: 'Plain',
      image: 'https://e.test/i.png',
    });
    expect(extractLinkDetails('<title>Only</title>', 'https://e.test/').title).toBe('Only');
  });

  // Each made the old expressions quadratic; a fetched page may be 1 MB.
  const MB = 1_000_000;
  const pathological: Record<string, string> = {
    '<a without >': '<a '.repeat(MB / 3),
    '<a> without </a>': '<a>'.repeat(MB / 3),
    '<meta without >': '<meta '.repeat(MB / 6),
    'one long attribute name': `<meta ${'a'.repeat(MB)}>`,
    'an anchor full of <': `<a href="http://x">${'<'.repeat(MB)}</a>`,
    '<title> without </title>': '<title>'.repeat(MB / 7),
  };
  for (const [what, html] of Object.entries(pathological)) {
    it(`reads a megabyte built against the old expressions in well under a second: ${what}`, () => {
      const ms = timedMs(() => {
        statusLinks(html, true);
        extractLinkDetails(html, 'https://e.test/');
      });
      expect(ms).toBeLessThan(1000);
    });
  }
});

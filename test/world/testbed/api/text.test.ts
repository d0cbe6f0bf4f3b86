import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../../src/shared/random.js';
import {
  MAX_CHARS,
  countableLength,
  exceedsMaxChars,
  extractHashtags,
  extractMentions,
  renderContent,
  tokenize,
  type Token,
} from '../../../../world/testbed/api/text.js';
import { randomOfPieces, timedMs } from '../../../support/fuzz.js';

/**
 * The regular expressions text.ts used before its scanner (Twitter-text style, backtracking): the
 * reference the scanner must agree with on inputs short enough for them to be quick.
 */
const MENTION_SRC = String.raw`(?<![\/\w@])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@((?:[a-z0-9-]+\.)*[a-z0-9-]+(?::\d+)?))?`;
const URL_SRC = String.raw`https?:\/\/[^\s<>"']+`;
const HASHTAG_SRC = String.raw`(?<![\/\)\w#])#([\p{L}\p{N}_]*[\p{L}_][\p{L}\p{N}_]*)`;
const TOKEN_RE = new RegExp(`(?<url>${URL_SRC})|(?<mention>${MENTION_SRC})|(?<tag>${HASHTAG_SRC})`, 'giu');

function referenceTokenize(text: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN_RE)) {
    let raw = m[0];
    const g = m.groups ?? {};
    let tok: Token;
    if (g.url) {
      raw = raw.replace(/[.,;:!?'")\]]+$/, '');
      tok = { kind: 'url', raw };
    } else if (g.mention) {
      const mm = new RegExp(`^${MENTION_SRC}$`, 'iu').exec(raw);
      tok = { kind: 'mention', raw, name: mm?.[1], domain: mm?.[2] };
    } else tok = { kind: 'tag', raw, name: raw.slice(1) };
    if (m.index > last) out.push({ kind: 'text', raw: text.slice(last, m.index) });
    out.push(tok);
    last = m.index + raw.length;
  }
  if (last < text.length) out.push({ kind: 'text', raw: text.slice(last) });
  return out;
}

/** The pieces statuses are made of, in a mix that makes every token kind and its edges likely. */
const PIECES = [
  'a',
  'Z',
  '9',
  '_',
  '.',
  '-',
  '@',
  '#',
  '/',
  ')',
  ':',
  '!',
  '?',
  ',',
  ' ',
  '\n',
  '"',
  "'",
  '<',
  'é',
  'ß',
  '日本',
  '٣',
  '😀',
  '\u00a0',
  'http://',
  'https://',
  'HTTP://',
  'www.',
  'x.y',
  ':80',
  ']',
];

describe('status text scanner (linear, no backtracking on user text)', () => {
  it('finds the same URLs, mentions and hashtags as the reference regular expressions', () => {
    const rng = seededRng(11);
    for (let n = 0; n < 4000; n++) {
      const text = randomOfPieces(() => rng.next(), PIECES, 1 + (n % 40));
      expect(tokenize(text), JSON.stringify(text)).toEqual(referenceTokenize(text));
    }
  });

  it('reads the usual forms', () => {
    const text = 'Hi @bob and @carol@remote.test:8443, see https://www.example.org/a?b=1). #Fedi_2 #123 x#no';
    expect(extractMentions(text)).toEqual([
      { username: 'bob', domain: undefined },
      { username: 'carol', domain: 'remote.test:8443' },
    ]);
    expect(extractHashtags(text)).toEqual(['fedi_2']);
    const html = renderContent('HTTP://Example.org/x.', [], 'http://tb', 'tb');
    expect(html).toContain('<span class="invisible">HTTP://</span><span class="">Example.org/x</span>');
  });

  it('counts as StatusLengthValidator and stops counting past the limit', () => {
    expect(countableLength(`${'x'.repeat(10)} https://example.org/${'p'.repeat(2000)}`)).toBe(11 + 23);
    expect(countableLength('@alice@remote.test 👩‍👩‍👧')).toBe(6 + 1 + 1);
    expect(countableLength('y'.repeat(10_000), MAX_CHARS)).toBeGreaterThan(MAX_CHARS);
    expect(exceedsMaxChars('z'.repeat(MAX_CHARS))).toBe(false);
    expect(exceedsMaxChars('z'.repeat(MAX_CHARS + 1))).toBe(true);
  });

  // Inputs that made the old expressions backtrack: long runs a quantifier could split many ways.
  const pathological: Record<string, string> = {
    'mention username (a run of [a-z0-9_.-] with no end)': `@${'a.'.repeat(248)}a!`,
    'mention domain (labels without a final one)': `@a@${'b.'.repeat(247)}`,
    'hashtag (digits only)': `#${'1'.repeat(498)}`,
    'URL trailing punctuation (many, then a letter)': `http://x/${'.'.repeat(480)}a`,
    'mixed @ and # runs': '@#'.repeat(249),
  };
  for (const [what, input] of Object.entries(pathological)) {
    it(`stays fast on a pathological ${input.length}-character input: ${what}`, () => {
      expect(input.length).toBeLessThan(500);
      const ms = timedMs(() => {
        tokenize(input);
        countableLength(input);
        renderContent(input, [], 'http://tb', 'tb');
      });
      expect(ms).toBeLessThan(50);
      // The same shape a thousand times longer stays linear: about a thousand times the work, not 10⁶.
      const big = input.repeat(1000);
      expect(timedMs(() => tokenize(big))).toBeLessThan(2000);
    });
  }
});

describe('grapheme counting in chunks', () => {
  const whole = (s: string) =>
    [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].length;
  it('counts clusters that straddle chunk edges once, as one segmentation of the whole text would', () => {
    const family = '👩‍👩‍👧‍👦';
    const flags = '🇫🇷🇩🇪🇯🇵';
    const zalgo = `a${'\u0301'.repeat(700)}`;
    for (const text of [
      family.repeat(90),
      `x${flags.repeat(70)}`,
      `${'é'.repeat(255)}${zalgo}b${'ñ'.repeat(300)}`,
      'ab\r\n'.repeat(130),
      '日本語'.repeat(200),
    ])
      expect(countableLength(text), text.slice(0, 20)).toBe(whole(text));
  });

  it('agrees with one segmentation of the whole text on long random texts', () => {
    const pieces = ['a', '\u0301', '\u200d', '👩', '🇫', '🇷', '\r', '\n', '日', ' ', '\u0600', '😀', 'é'];
    const rng = seededRng(7);
    for (let n = 0; n < 200; n++) {
      let text = '';
      const length = 200 + Math.floor(rng.next() * 600);
      for (let i = 0; i < length; i++) text += pieces[Math.floor(rng.next() * pieces.length)];
      expect(countableLength(text)).toBe(whole(text));
    }
  });

  it('stays fast on a megabyte without URLs, and on one megabyte-long cluster', () => {
    expect(timedMs(() => expect(exceedsMaxChars('y'.repeat(1_048_000))).toBe(true))).toBeLessThan(200);
    expect(timedMs(() => expect(countableLength(`a${'\u0301'.repeat(1_000_000)}`)).toBe(1))).toBeLessThan(
      2000,
    );
  });
});

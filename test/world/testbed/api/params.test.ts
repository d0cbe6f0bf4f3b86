import { describe, expect, it } from 'vitest';
import { isId, normalizeRailsKeys, parseFormBody } from '../../../../world/testbed/api/http.js';
import { decodeUtf8, findUnstorable } from '../../../../world/testbed/storableText.js';

function timed(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

describe('request parameters: ids, form bodies, what PostgreSQL cannot store', () => {
  it("takes as ids only decimal strings within bigint's range", () => {
    expect(['1', '9223372036854775807'].map(isId)).toEqual([true, true]);
    expect(
      ['9223372036854775808', '9999999999999999999', '99999999999999999999', 'abc', '-1', '1.5', ''].map(
        isId,
      ),
    ).toEqual([false, false, false, false, false, false, false]);
    expect(isId(12)).toBe(false);
  });

  it('parses form bodies strictly: a %-escape that is not UTF-8 or is cut short makes no params', () => {
    expect(parseFormBody('status=a+b%21&media_ids[]=1&media_ids[]=2')).toEqual({
      status: 'a b!',
      media_ids: ['1', '2'],
    });
    expect(parseFormBody('status=%FF')).toBeUndefined();
    expect(parseFormBody('status=%E2%82')).toBeUndefined();
    expect(parseFormBody('status=%')).toBeUndefined();
  });

  it('finds NUL and lone surrogates in keys and values, at any depth, and bytes that are not UTF-8', () => {
    expect(findUnstorable({ a: ['ok', { b: 'x\u0000' }] })).toEqual({
      where: 'a[1].b',
      why: 'a NUL character',
    });
    expect(findUnstorable({ 'k\u0000': 1 })).toEqual({ where: 'k\\0', why: 'a NUL character' });
    expect(findUnstorable({ s: 'a\udc00' })?.why).toBe('a lone surrogate (not UTF-8)');
    expect(findUnstorable({ s: 'a😀b', n: 1, z: null })).toBeUndefined();
    expect(decodeUtf8(Buffer.from([0x61, 0xc3, 0x28]))).toBeUndefined();
    expect(decodeUtf8(Buffer.from('é😀'))).toBe('é😀');
    // deep nesting is walked without recursion
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorable(deep)?.why).toBe('a NUL character');
  });

  // Rails-style keys are user input too: 499-character keys shaped to make the key expression backtrack.
  const keys = {
    'no brackets': 'a'.repeat(499),
    'unclosed brackets': `a${'[b'.repeat(249)}`,
    'empty brackets then text': `a${'[]'.repeat(248)}x`,
    'brackets only': '['.repeat(499),
  };
  for (const [what, key] of Object.entries(keys)) {
    it(`reads a pathological ${key.length}-character key fast: ${what}`, () => {
      expect(timed(() => normalizeRailsKeys({ [key]: 'v' }))).toBeLessThan(50);
      expect(timed(() => normalizeRailsKeys({ [key.repeat(200)]: 'v' }))).toBeLessThan(500);
    });
  }
});

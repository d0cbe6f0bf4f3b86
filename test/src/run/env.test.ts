import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnvPairs, scenarioEnv } from '../../../src/run/env.js';

describe('parseEnvPairs', () => {
  it('splits KEY=VALUE at the first =, keeping the rest of the value (even empty or multi-line)', () => {
    expect(parseEnvPairs(['TOKEN=a=b', 'EMPTY=', 'TEXT=x\ny'])).toEqual({
      TOKEN: 'a=b',
      EMPTY: '',
      TEXT: 'x\ny',
    });
  });

  it('refuses malformed pairs (shortened in the message) and BASE_URL, which --target gives', () => {
    expect(() => parseEnvPairs(['1BAD=x'])).toThrow(/-e "1BAD=x": expected KEY=VALUE/);
    expect(() => parseEnvPairs([`NOVALUE${'x'.repeat(50)}`])).toThrow(/-e "NOVALUEx{33}…"/);
    expect(() => parseEnvPairs(['BASE_URL=http://x'])).toThrow(/the target is given with --target/);
  });
});

describe('scenarioEnv', () => {
  it('puts BASE_URL (without its trailing slash) first, then the pairs, DURATION and SCALE; PROFILE and IMAGES made absolute', () => {
    const env = scenarioEnv(
      new URL('http://127.0.0.1:3000/'),
      { TOKENS: 'tokens.json', PROFILE: 'fixtures/p.json', IMAGES: 'run/images' },
      { duration: '1m', scale: 0.5 },
    );
    expect(env).toEqual({
      BASE_URL: 'http://127.0.0.1:3000',
      TOKENS: 'tokens.json',
      PROFILE: resolve('fixtures/p.json'),
      IMAGES: resolve('run/images'),
      DURATION: '1m',
      SCALE: '0.5',
    });
    expect(Object.keys(env)[0]).toBe('BASE_URL');
  });

  it('leaves DURATION and SCALE to the pairs when the flags are not given', () => {
    expect(
      scenarioEnv(
        new URL('http://127.0.0.1:3000/api'),
        { SCALE: '3' },
        { duration: undefined, scale: undefined },
      ),
    ).toEqual({
      BASE_URL: 'http://127.0.0.1:3000/api',
      SCALE: '3',
    });
  });
});

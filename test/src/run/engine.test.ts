import { describe, expect, it } from 'vitest';
import { checkEngineReaches, chooseEngine } from '../../../src/run/engine.js';
import { InputError } from '../../../src/shared/errors.js';

const found = () => '/usr/local/bin/k6';
const missing = () => null;

describe('chooseEngine', () => {
  it('takes k6 when it is on PATH and nothing is asked, else the local executor, saying why', () => {
    expect(chooseEngine(undefined, found)).toEqual({
      engine: 'k6',
      k6Path: '/usr/local/bin/k6',
      note: 'engine: k6 (found /usr/local/bin/k6)\n',
    });
    expect(chooseEngine(undefined, missing)).toEqual({
      engine: 'local',
      note: 'engine: local executor (k6 is not on PATH; it is for CI and smoke tests — install k6 for real load)\n',
    });
  });

  it('takes what is asked, without looking for k6 when the local executor is asked', () => {
    let looked = false;
    const local = chooseEngine('local', () => {
      looked = true;
      return '/usr/local/bin/k6';
    });
    expect(local.engine).toBe('local');
    expect(looked).toBe(false);
    expect(chooseEngine('k6', found)).toMatchObject({
      engine: 'k6',
      note: 'engine: k6 (/usr/local/bin/k6, as asked)\n',
    });
  });

  it('refuses --engine k6 without k6 on PATH, as an input error', () => {
    expect(() => chooseEngine('k6', missing)).toThrow(InputError);
    expect(() => chooseEngine('k6', missing)).toThrow(/no k6 executable on PATH/);
  });
});

describe('checkEngineReaches', () => {
  it('lets the local executor load loopback targets only; k6 goes anywhere confirmed', () => {
    expect(() =>
      checkEngineReaches('local', new URL('http://127.0.0.1:3000'), '127.0.0.1:3000'),
    ).not.toThrow();
    expect(() => checkEngineReaches('local', new URL('http://[::1]:3000'), '[::1]:3000')).not.toThrow();
    expect(() => checkEngineReaches('local', new URL('https://staging.example'), 'staging.example')).toThrow(
      /--target staging.example: the local executor sends load only to loopback addresses/,
    );
    expect(() =>
      checkEngineReaches('k6', new URL('https://staging.example'), 'staging.example'),
    ).not.toThrow();
  });
});

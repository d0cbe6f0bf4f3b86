import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecord, writeRunRecord } from '../../../src/run/record.js';
import { tempDir } from '../../support/helpers.js';

const facts = {
  scenarioPath: '/work/scenarios/mixed.ts',
  engine: 'local' as const,
  env: {
    TOKEN: 'secret-token',
    BASE_URL: 'http://127.0.0.1:3000',
    SCALE: '2',
    PROFILE: '/work/profile.json',
    DURATION: '30s',
    FLEET: '/tmp/fleet.json',
    IMAGES: '/work/run/images',
  },
  scale: 2,
  duration: '30s',
  startedAt: '2026-12-03T13:00:00.000Z',
  endedAt: '2026-12-03T13:00:31.000Z',
  exitCode: 99,
};

describe('runRecord', () => {
  it('records every env key, sorted, with values only for BASE_URL, DURATION, SCALE, PROFILE and IMAGES', () => {
    const record = runRecord(facts);
    expect(record.env).toEqual({
      BASE_URL: 'http://127.0.0.1:3000',
      DURATION: '30s',
      FLEET: null,
      IMAGES: '/work/run/images',
      PROFILE: '/work/profile.json',
      SCALE: '2',
      TOKEN: null,
    });
    expect(Object.keys(record.env)).toEqual([
      'BASE_URL',
      'DURATION',
      'FLEET',
      'IMAGES',
      'PROFILE',
      'SCALE',
      'TOKEN',
    ]);
    expect(JSON.stringify(record)).not.toContain('secret-token');
  });

  it('takes the target from BASE_URL and null for what was not given', () => {
    const record = runRecord({
      ...facts,
      env: { BASE_URL: 'http://[::1]:8080' },
      scale: undefined,
      duration: undefined,
    });
    expect(record).toMatchObject({ target: 'http://[::1]:8080', profile: null, scale: null, duration: null });
  });

  it('writes run.json with its fields in the order readers know', () => {
    const dir = tempDir('fedicap-record-');
    const path = writeRunRecord(dir, runRecord(facts));
    expect(path).toBe(join(dir, 'run.json'));
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text))).toEqual([
      'scenario',
      'target',
      'engine',
      'startedAt',
      'endedAt',
      'env',
      'profile',
      'scale',
      'duration',
      'exitCode',
    ]);
    expect(JSON.parse(text)).toMatchObject({
      scenario: '/work/scenarios/mixed.ts',
      engine: 'local',
      exitCode: 99,
    });
  });
});

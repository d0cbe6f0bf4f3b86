import { describe, expect, it } from 'vitest';
import { maskPassword, maskSecretsInText, withoutCredentials } from '../../../src/shared/urlSecrets.js';

describe('maskPassword', () => {
  it('masks the password of a URL and secret query values, keeping the user', () => {
    expect(maskPassword('postgres://mastodon:hunter2@db.example:5432/mastodon_production')).toBe(
      'postgres://mastodon:***@db.example:5432/mastodon_production',
    );
    expect(maskPassword('redis://:hunter2@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
    expect(maskPassword('postgres://db/x?sslmode=require&password=hunter2')).toBe(
      'postgres://db/x?sslmode=require&password=***',
    );
    expect(maskPassword('http://127.0.0.1:9394/metrics')).toBe('http://127.0.0.1:9394/metrics');
  });

  it('masks by pattern what does not parse as a URL', () => {
    const masked = maskPassword('postgres://u:hunter2@db:notaport/x');
    expect(masked).not.toContain('hunter2');
    expect(masked).toBe('postgres://u:***@db:notaport/x');
    expect(maskPassword('db:5432?password=hunter2')).toBe('db:5432?password=***');
  });
});

describe('withoutCredentials', () => {
  it('drops user and password', () => {
    expect(withoutCredentials('http://scraper:hunter2@127.0.0.1:9394/metrics')).toBe(
      'http://127.0.0.1:9394/metrics',
    );
    expect(withoutCredentials('redis://:hunter2@127.0.0.1:6379/2')).toBe('redis://127.0.0.1:6379/2');
  });

  it('masks credentials quoted anywhere in a message', () => {
    expect(
      maskSecretsInText('connect ECONNREFUSED redis://:hunter2@127.0.0.1:6379 (password=hunter2&db=1)'),
    ).toBe('connect ECONNREFUSED redis://***@127.0.0.1:6379 (password=***&db=1)');
    expect(maskSecretsInText('nothing secret here')).toBe('nothing secret here');
  });
});

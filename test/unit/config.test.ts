import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('runs with nothing configured', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '0.0.0.0', logLevel: 'info', status: { pollIntervalMs: 2000 } });
    expect(config.upstream.baseUrl).toBeUndefined();
    expect(config.upstream.headersTimeoutMs).toBeGreaterThan(0);
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      POLL_INTERVAL_MS: '500',
      MYPREFERENCES_BASE_URL: 'https://pmstg.mypreferences.com/Profiles/',
      UPSTREAM_HEADERS_TIMEOUT_MS: '1234',
    });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', logLevel: 'debug', status: { pollIntervalMs: 500 } });
    expect(config.upstream.baseUrl?.href).toBe('https://pmstg.mypreferences.com/Profiles/');
    expect(config.upstream.headersTimeoutMs).toBe(1234);
  });

  it('adds the trailing slash that keeps /Profiles in every route', () => {
    expect(loadConfig({ MYPREFERENCES_BASE_URL: 'https://pm.mypreferences.com/Profiles' }).upstream.baseUrl?.pathname).toBe('/Profiles/');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['POLL_INTERVAL_MS', '-5'],
    ['POLL_INTERVAL_MS', '1.5'],
    ['LOG_LEVEL', 'loud'],
    ['MYPREFERENCES_BASE_URL', 'not a url'],
    ['MYPREFERENCES_BASE_URL', 'ftp://example.com/Profiles/'],
    ['MYPREFERENCES_BASE_URL', 'https://user:secret@example.com/Profiles/'],
    ['UPSTREAM_CONNECT_TIMEOUT_MS', '0'],
    ['CREDENTIAL_FINGERPRINT_SECRET', 'short'],
    ['WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', '0'],
    ['REDIS_URL', 'http://localhost:6379'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    const attempt = () => loadConfig({ [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^${variable} `));
  });

  it('requires a shared fingerprint secret in cluster mode', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/^CREDENTIAL_FINGERPRINT_SECRET must be set/);
    expect(loadConfig({ REDIS_URL: 'redis://:pw@127.0.0.1:6379', CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret' }).cluster.redisUrl).toBe('redis://:pw@127.0.0.1:6379');
  });

  it('never echoes a base URL that may carry a secret', () => {
    expect(() => loadConfig({ MYPREFERENCES_BASE_URL: 'https://user:hunter2@example.com/' })).toThrow(/^((?!hunter2).)*$/);
  });
});

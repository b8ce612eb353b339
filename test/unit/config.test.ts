import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_ISSUER, InvalidConfiguration, loadConfig } from '../../src/config/config.js';

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
      AUTH_MODE: 'passthrough',
      UPSTREAM_HEADERS_TIMEOUT_MS: '1234',
    });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', logLevel: 'debug', status: { pollIntervalMs: 500 } });
    expect(config.upstream.baseUrl?.href).toBe('https://pmstg.mypreferences.com/Profiles/');
    expect(config.upstream.headersTimeoutMs).toBe(1234);
  });

  it('adds the trailing slash that keeps /Profiles in every route', () => {
    expect(loadConfig({ MYPREFERENCES_BASE_URL: 'https://pm.mypreferences.com/Profiles', AUTH_MODE: 'passthrough' }).upstream.baseUrl?.pathname).toBe(
      '/Profiles/',
    );
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
    ['DATABASE_URL', 'mysql://localhost:3306/gateway'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    const attempt = () => loadConfig({ [variable]: value });
    expect(attempt).toThrow(InvalidConfiguration);
    expect(attempt).toThrow(new RegExp(`^${variable} `));
  });

  it('reports every missing and invalid variable in one pass, not one per run', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof InvalidConfiguration) return error.variables;
        throw error;
      }
      return [];
    };
    // Production with nothing else: the upstream, and the mode whose message lists what jwt needs.
    expect(problems({ NODE_ENV: 'production' })).toEqual(['MYPREFERENCES_BASE_URL', 'AUTH_MODE']);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /jwt also needs AUTH_JWKS_URL, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, MYPREFERENCES_ACCOUNTS_FILE/,
    );
    // The mode chosen: everything it needs, and every invalid value, at once.
    const real = { NODE_ENV: 'production', MYPREFERENCES_BASE_URL: 'https://mp.example.com/Profiles/', AUTH_MODE: 'jwt' };
    expect(new Set(problems({ ...real, PORT: 'http', POLL_INTERVAL_MS: '-5', REDIS_URL: 'redis://r:6379' }))).toEqual(
      new Set([
        'PORT',
        'POLL_INTERVAL_MS',
        'AUTH_JWKS_URL',
        'AUTH_JWT_ISSUER',
        'AUTH_JWT_AUDIENCE',
        'MYPREFERENCES_ACCOUNTS_FILE',
        'CREDENTIAL_FINGERPRINT_SECRET',
        'DATABASE_URL',
      ]),
    );
    // A rule across variables is not judged on a stand-in: one problem per mistake.
    expect(problems({ MAX_REQUEST_BYTES: 'lots' })).toEqual(['MAX_REQUEST_BYTES']);
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'not a url' })).toEqual(['AUTH_JWKS_URL']);
  });

  it("derives a clientId's share of the upstream budget, and refuses a caller burst below the largest _entities call", () => {
    expect(loadConfig({}).upstream.budget).toMatchObject({ maxConcurrent: 32, maxPerClient: 16 });
    expect(loadConfig({ UPSTREAM_MAX_CONCURRENT: '5', UPSTREAM_CLIENT_SHARE: '50' }).upstream.budget.maxPerClient).toBe(2);
    expect(loadConfig({ UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_CLIENT_SHARE: '1' }).upstream.budget.maxPerClient).toBe(1);
    expect(loadConfig({}).limits.callerRateLimit).toEqual({ burst: 200, perSecond: 50, maxWaitMs: 1_000 });
    expect(() => loadConfig({ CALLER_RATE_LIMIT_BURST: '50', GRAPHQL_MAX_ENTITIES: '100' })).toThrow(
      /^CALLER_RATE_LIMIT_BURST must be at least GRAPHQL_MAX_ENTITIES/,
    );
  });

  it('requires a shared fingerprint secret in cluster mode', () => {
    const upstream = { MYPREFERENCES_BASE_URL: 'https://mp.example.com/Profiles/', AUTH_MODE: 'passthrough', DATABASE_URL: 'postgres://db.internal/gateway' };
    expect(() => loadConfig({ ...upstream, REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/^CREDENTIAL_FINGERPRINT_SECRET must be set/);
    expect(loadConfig({ ...upstream, REDIS_URL: 'redis://:pw@127.0.0.1:6379', CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret' }).cluster.redisUrl).toBe(
      'redis://:pw@127.0.0.1:6379',
    );
  });

  it('keeps the store in ./data with nothing configured, and in PostgreSQL with a DATABASE_URL', () => {
    expect(loadConfig({}).store).toEqual({ dataDir: './data', databaseUrl: undefined, poolSize: 10, startTimeoutMs: 30_000, importHistoryDays: 90 });
    const url = 'postgresql://gateway:s3cret@db.internal:5432/gateway?sslmode=require';
    expect(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }).store).toMatchObject({ databaseUrl: url, poolSize: 4 });
  });

  it('refuses cluster mode without a shared store: replicas cannot share a DATA_DIR file', () => {
    const cluster = {
      MYPREFERENCES_BASE_URL: 'https://mp.example.com/Profiles/',
      AUTH_MODE: 'passthrough',
      REDIS_URL: 'redis://127.0.0.1:6379',
      CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret',
    };
    expect(() => loadConfig(cluster)).toThrow(/^DATABASE_URL must be set when REDIS_URL is set: replicas share one PostgreSQL store/);
    expect(() => loadConfig({ ...cluster, DATA_DIR: '/shared/volume' })).toThrow(/^DATABASE_URL must be set/);
    expect(loadConfig({ ...cluster, DATABASE_URL: 'postgres://db.internal/gateway' }).store.databaseUrl).toBe('postgres://db.internal/gateway');
    // An invalid DATABASE_URL is one problem, not two.
    expect(() => loadConfig({ ...cluster, DATABASE_URL: 'not a url' })).toThrow(/^DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL$/);
  });

  it('refuses cluster mode without a shared upstream, and production without one unless the simulator is asked for', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret' })).toThrow(
      /^REDIS_URL needs MYPREFERENCES_BASE_URL/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/^MYPREFERENCES_BASE_URL must be set when NODE_ENV is production/);
    expect(loadConfig({ NODE_ENV: 'production', SIMULATOR: 'true' }).upstream.baseUrl).toBeUndefined();
  });

  it('allows any origin with the embedded simulator, none by default with a real upstream, and checks listed origins', () => {
    expect(loadConfig({}).limits.corsOrigins).toBe('*');
    expect(loadConfig({ MYPREFERENCES_BASE_URL: 'https://mp.example.com/Profiles/', AUTH_MODE: 'passthrough' }).limits.corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, https://b.example.com:8443/' }).limits.corsOrigins).toEqual([
      'https://a.example.com',
      'https://b.example.com:8443',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example.com/app' })).toThrow(/^CORS_ORIGINS lists/);
    expect(() => loadConfig({ CORS_ORIGINS: 'a.example.com' })).toThrow(/^CORS_ORIGINS lists/);
  });

  it('never echoes a base URL that may carry a secret', () => {
    expect(() => loadConfig({ MYPREFERENCES_BASE_URL: 'https://user:hunter2@example.com/' })).toThrow(/^MYPREFERENCES_BASE_URL must not contain credentials/);
    expect(() => loadConfig({ MYPREFERENCES_BASE_URL: 'https://user:hunter2@example.com/' })).not.toThrow(/hunter2/);
  });

  describe('tracing (OTEL_*)', () => {
    it('is off without an endpoint, and posts to v1/traces under the general one', () => {
      expect(loadConfig({}).tracing).toMatchObject({
        tracesUrl: undefined,
        serviceName: 'bulk-import-gateway',
        sampler: 'parentbased_always_on',
        samplerRatio: 1,
      });
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.tracesUrl?.href).toBe('http://collector:4318/v1/traces');
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/otlp/' }).tracing.tracesUrl?.href).toBe(
        'https://otlp.example.com/otlp/v1/traces',
      );
      const own = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/in' });
      expect(own.tracing.tracesUrl?.href).toBe('http://traces:9999/in');
    });

    it('reads headers as URL-encoded key=value pairs, and never echoes them', () => {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, X-Team = blue' }).tracing.headers).toEqual({
        'x-api-key': 'abc==',
        'x-team': 'blue',
      });
      for (const bad of ['no-equals-s3cr3t', '=s3cr3t', 'bad key=s3cr3t', 'k=%E0%A4%A-s3cr3t']) {
        const attempt = () => loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: bad });
        expect(attempt).toThrow(InvalidConfiguration);
        expect(attempt).toThrow(/^OTEL_EXPORTER_OTLP_HEADERS ((?!s3cr3t).)*$/);
      }
    });

    it('takes a sampler ratio between 0 and 1', () => {
      expect(loadConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).tracing).toMatchObject({ samplerRatio: 0.25 });
      expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: '0' }).tracing.samplerRatio).toBe(0);
      for (const bad of ['1.5', '-0.1', 'half', '1e-3', 'NaN']) expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: bad })).toThrow(/^OTEL_TRACES_SAMPLER_ARG /);
    });
  });

  describe('AUTH_MODE', () => {
    const folder = mkdtempSync(join(tmpdir(), 'config-test-'));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    const accountsFile = (accounts: unknown) => {
      const file = join(folder, `${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, typeof accounts === 'string' ? accounts : JSON.stringify(accounts));
      return file;
    };
    const real = {
      MYPREFERENCES_BASE_URL: 'https://pm.mypreferences.com/Profiles/',
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
      AUTH_JWT_ISSUER: 'https://id.example.com/',
      AUTH_JWT_AUDIENCE: 'bulk-imports',
    };
    const acme = { tokenUrl: 'https://auth.example.com/oauth2/token', clientId: 'oauth-client', clientSecret: 's3cr3t-value', scope: 'acme/ApiUser' };

    it('defaults to jwt with the development issuer only with the embedded simulator', () => {
      const { auth } = loadConfig({});
      expect(auth).toMatchObject({
        mode: 'jwt',
        jwt: { jwksUrl: undefined, issuer: DEVELOPMENT_ISSUER, algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'], clockToleranceS: 30 },
      });
    });

    it.each([
      [{ MYPREFERENCES_BASE_URL: 'https://pm.mypreferences.com/Profiles/' }, /^AUTH_MODE must be set/],
      [{ AUTH_MODE: 'open' }, /^AUTH_MODE must be one of jwt, passthrough/],
      [{ ...real, AUTH_JWKS_URL: undefined }, /^AUTH_JWKS_URL must be set/],
      [{ ...real, AUTH_JWT_AUDIENCE: undefined }, /^AUTH_JWT_AUDIENCE must be set/],
      [real, /^MYPREFERENCES_ACCOUNTS_FILE must be set/],
      [{ ...real, AUTH_JWT_ALGORITHMS: 'RS256,HS256' }, /^AUTH_JWT_ALGORITHMS lists "HS256"/],
      [{ ...real, AUTH_JWT_ALGORITHMS: 'none' }, /^AUTH_JWT_ALGORITHMS lists "none"/],
      [{ ...real, AUTH_CLOCK_TOLERANCE_S: '-1' }, /^AUTH_CLOCK_TOLERANCE_S /],
    ])('refuses %j', (env, message) => {
      expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
    });

    it('reads the service accounts file, with secrets from the file or the environment, never printable', () => {
      const file = accountsFile({ acme, globex: { ...acme, clientSecret: undefined, clientSecretEnv: 'GLOBEX_SECRET', auth: 'body' } });
      const { auth } = loadConfig({ ...real, MYPREFERENCES_ACCOUNTS_FILE: file, GLOBEX_SECRET: 'from-the-env' });
      if (auth.mode !== 'jwt') throw new Error('expected jwt mode');
      expect(auth.jwt.jwksUrl?.href).toBe(real.AUTH_JWKS_URL);
      const globex = auth.serviceAccounts.get('globex')!;
      expect(globex).toMatchObject({ clientId: 'globex', oauthClientId: 'oauth-client', scope: 'acme/ApiUser', auth: 'body' });
      expect(globex.clientSecret.reveal()).toBe('from-the-env');
      expect(auth.serviceAccounts.get('acme')!.auth).toBe('basic');
      const printed = `${JSON.stringify([...auth.serviceAccounts.values()])} ${inspect(auth)} ${String(globex.clientSecret)}`;
      expect(printed).not.toContain('s3cr3t-value');
      expect(printed).not.toContain('from-the-env');
    });

    it.each([
      ['not json {', /is not valid JSON/],
      [['a list'], /must contain a JSON object/],
      [{ acme: { ...acme, tokenUrl: 'ftp://x/token' } }, /entry "acme": tokenUrl must be an http or https URL/],
      [{ acme: { ...acme, clientSecretEnv: 'X' } }, /entry "acme": needs exactly one of clientSecret and clientSecretEnv/],
      [{ acme: { ...acme, clientSecret: undefined, clientSecretEnv: 'UNSET_SECRET' } }, /entry "acme": clientSecretEnv names UNSET_SECRET, which is not set/],
      [{ acme: { ...acme, scope: '' } }, /entry "acme": scope must be a non-empty string/],
      [{ acme: { ...acme, auth: 'digest' } }, /entry "acme": auth must be "basic" or "body"/],
      [{ acme: { ...acme, clientSecrets: 'typo' } }, /entry "acme": has unknown field\(s\) clientSecrets/],
      [{ '..': acme }, /entry "\.\.": is not a usable MyPreferences clientId/],
    ])('refuses an accounts file %j, naming the entry and never the secret', (accounts, message) => {
      const attempt = () => loadConfig({ ...real, MYPREFERENCES_ACCOUNTS_FILE: accountsFile(accounts) });
      expect(attempt).toThrow(InvalidConfiguration);
      expect(attempt).toThrow(message);
      expect(attempt).toThrow(/^MYPREFERENCES_ACCOUNTS_FILE ((?!s3cr3t).)*$/);
    });
  });
});

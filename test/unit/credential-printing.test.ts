import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { passthroughAuthentication } from '../../src/auth/access.js';
import { ForwardedCredential } from '../../src/credentials/credential.js';
import { createFingerprinter } from '../../src/credentials/fingerprint.js';
import { Secret } from '../../src/credentials/secret.js';
import type { ServiceAccount } from '../../src/credentials/service-account.js';
import { ServiceTokenCredential } from '../../src/credentials/service-token.js';
import { createLogger } from '../../src/logger.js';

/**
 * Credentials and secrets will not print: every way a value ends up as text — string conversion,
 * JSON, `util.inspect` and what builds on it (console, `util.format`), structured cloning, the
 * gateway's own pino logger — shows a placeholder or the non-secret id, never the raw value.
 *
 * Each holder is checked two ways: the raw value never appears, and, for the classes that print
 * a placeholder, the placeholder does appear where the protection should have been used. The
 * second half is what notices a dropped `toString`, `toJSON` or `[inspect.custom]`: the private
 * field alone would keep the value out of most renderings, but the class promises the placeholder.
 */

/** Every rendering under test: the value alone, nested, and through the usual printers. */
function renderings(value: object): Array<[string, () => string]> {
  return [
    ['String(value)', () => String(value)],
    ['a template literal', () => `sent ${value}`],
    ['value.toString()', () => value.toString()],
    ["'' + value", () => `${''}${value}`],
    ['JSON.stringify(value)', () => JSON.stringify(value)],
    ['JSON.stringify({ value })', () => JSON.stringify({ value })],
    ['JSON.stringify of a deep object', () => JSON.stringify({ ctx: { access: [{ value }] } })],
    ['util.inspect(value)', () => inspect(value)],
    ['util.inspect with showHidden', () => inspect(value, { showHidden: true })],
    ['util.inspect of a deep object, depth Infinity', () => inspect({ ctx: { access: { deeper: { value } } } }, { depth: Infinity })],
    ['util.inspect of an array and a Map', () => inspect([value, new Map([['credential', value]])])],
    ["util.inspect of an error's cause", () => inspect(new Error('call failed', { cause: value }))],
    ["util.format('%o')", () => format('%o', value)],
    ["util.format('%O')", () => format('%O', value)],
    ["util.format('%s')", () => format('%s', value)],
    ["util.format('%j')", () => format('%j', { value })],
    ['util.format with no placeholder', () => format('calling with', value)],
    ['console.log', () => consoleOutput(value)],
    ['pino: { credential: value }', () => pinoOutput((logger) => logger.info({ credential: value }, 'calling'))],
    ['pino: a context holding it deep down', () => pinoOutput((logger) => logger.info({ ctx: { access: { credential: value } } }, 'calling'))],
    ["pino: '%s' in the message", () => pinoOutput((logger) => logger.info('calling with %s', value))],
    ["pino: '%o' in the message", () => pinoOutput((logger) => logger.info('calling with %o', value))],
    ['pino: an error holding it', () => pinoOutput((logger) => logger.error({ err: Object.assign(new Error('failed'), { credential: value }) }, 'failed'))],
  ];
}

/** Renderings that cannot use the class's placeholder and must still not reveal the value. */
function privateFieldRenderings(value: object): Array<[string, () => string]> {
  return [
    ['util.inspect with customInspect off', () => inspect(value, { customInspect: false, showHidden: true, depth: Infinity })],
    // Decided: structuredClone copies own enumerable properties only; private fields stay behind.
    ['structuredClone', () => inspect(structuredClone(value), { customInspect: false, depth: Infinity })],
    ['object spread', () => inspect({ ...value }, { customInspect: false, depth: Infinity })],
    ['Object.getOwnPropertyNames', () => JSON.stringify(Object.getOwnPropertyNames(value).map((name) => [name, String((value as any)[name])]))],
  ];
}

function consoleOutput(value: unknown): string {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  new Console({ stdout: stream, stderr: stream }).log(value);
  return written;
}

function pinoOutput(write: (logger: ReturnType<typeof createLogger>) => void): string {
  let written = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  write(createLogger('info', sink));
  return written;
}

const RAW_AUTHORIZATION = 'Bearer printing-canary-7d2a91';
const fingerprint = createFingerprinter('printing-test-secret');

describe('ForwardedCredential (passthrough: the caller’s Authorization forwarded upstream)', () => {
  const credential = ForwardedCredential.from(RAW_AUTHORIZATION, fingerprint)!;

  it('still sends the raw value where it must go', async () => {
    expect(await credential.authorization()).toBe(RAW_AUTHORIZATION);
  });

  it.each(renderings(credential))('%s shows [credential], never the value', (_how, render) => {
    const text = render();
    expect(text).not.toContain('printing-canary');
    expect(text).toContain('[credential]');
  });

  it.each(privateFieldRenderings(credential))('%s shows only the id', (_how, render) => {
    const text = render();
    expect(text).not.toContain('printing-canary');
    expect(text).toContain(credential.id);
  });

  it('prints exactly the placeholder, alone and in JSON', () => {
    expect(String(credential)).toBe('[credential]');
    expect(JSON.stringify({ credential })).toBe('{"credential":"[credential]"}');
    expect(inspect(credential)).toBe('[credential]');
  });

  it('the Access a request gets in passthrough mode prints nothing of it either', async () => {
    const access = await passthroughAuthentication(fingerprint)(RAW_AUTHORIZATION);
    const context = { access, credential: access.credentialFor('acme', 'write') };
    for (const text of [
      JSON.stringify(context),
      inspect(context, { depth: Infinity, showHidden: true }),
      pinoOutput((logger) => logger.info({ ctx: context })),
    ]) {
      expect(text).not.toContain('printing-canary');
    }
  });
});

describe('Secret (an OAuth client secret, a service token)', () => {
  const secret = new Secret('printing-canary-secret-5b8e04');

  it('still reveals the value to the one caller that asks by name', () => {
    expect(secret.reveal()).toBe('printing-canary-secret-5b8e04');
  });

  it.each(renderings(secret))('%s shows [secret], never the value', (_how, render) => {
    const text = render();
    expect(text).not.toContain('printing-canary');
    expect(text).toContain('[secret]');
  });

  it.each(privateFieldRenderings(secret))('%s shows nothing of the value', (_how, render) => {
    expect(render()).not.toContain('printing-canary');
  });
});

describe('ServiceTokenCredential (jwt mode: the gateway’s service account)', () => {
  const account: ServiceAccount = {
    clientId: 'acme',
    tokenUrl: new URL('https://auth.example.test/oauth2/token'),
    oauthClientId: 'gateway',
    clientSecret: new Secret('printing-canary-client-secret-c41f'),
    scope: 'acme/ApiUser',
    auth: 'basic',
  };
  // Holding a token: printed after it was fetched, the state a log call would find it in.
  const credential = new ServiceTokenCredential({
    account,
    now: () => 1_000_000,
    random: () => 0.5,
    requestToken: async () => ({ accessToken: new Secret('printing-canary-token-9e3d'), expiresInS: 3600 }),
  });

  it('holds a token to send', async () => {
    expect(await credential.authorization()).toBe('Bearer printing-canary-token-9e3d');
  });

  it.each([...renderings(credential), ...privateFieldRenderings(credential)])('%s shows neither its token nor its client secret', async (_how, render) => {
    await credential.authorization();
    const text = render();
    expect(text).not.toContain('printing-canary');
  });
});

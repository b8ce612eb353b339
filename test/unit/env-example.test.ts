import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidConfiguration, loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';

/** `.env.example`, the README's minimal production configuration: it must start a gateway, and each line must be needed. */
describe('.env.example', () => {
  const example = parseEnv(readFileSync(new URL('../../.env.example', import.meta.url), 'utf8'));
  // The file names the accounts file where a deployment mounts it; here, a real one stands there.
  const folder = mkdtempSync(join(tmpdir(), 'env-example-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const accountsFile = join(folder, 'accounts.json');
  writeFileSync(
    accountsFile,
    JSON.stringify({
      acme: { tokenUrl: 'https://auth.example.com/oauth2/token', clientId: 'gateway', clientSecret: 'from-the-secret-store', scope: 'acme/ApiUser' },
    }),
  );
  const env = { ...example, MYPREFERENCES_ACCOUNTS_FILE: accountsFile };

  it('is what the README shows', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /\*\*A minimal production configuration\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(parseEnv(block ?? '')).toEqual(example);
  });

  it('names only settings of the gateway', () => {
    for (const name of Object.keys(example)) expect(Object.keys(SETTINGS), name).toContain(name);
  });

  it('is a complete production configuration in jwt mode against a real upstream', () => {
    const config = loadConfig(env);
    expect(config.upstream.baseUrl?.href).toBe(example['MYPREFERENCES_BASE_URL']);
    expect(config.auth.mode).toBe('jwt');
    expect(config.graphiql).toBe(false);
  });

  it.each(Object.keys(example).filter((name) => name !== 'NODE_ENV'))('is minimal: without %s the gateway refuses to start, naming it', (name) => {
    const without: Record<string, string | undefined> = { ...env, [name]: undefined };
    expect(() => loadConfig(without)).toThrow(InvalidConfiguration);
    expect(() => loadConfig(without)).toThrow(new RegExp(`^${name} `, 'm'));
  });
});

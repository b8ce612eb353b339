import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readSimulatorEnv, SimulatorEnvError } from '../../src/simulator/cli-config.js';
import { DEMO_OAUTH_CLIENT } from '../../src/simulator/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('readSimulatorEnv', () => {
  it('applies the defaults', () => {
    expect(readSimulatorEnv({})).toEqual({ port: 4010, host: '127.0.0.1', controlRoutes: false, recordReceipts: false });
  });

  it('reads every variable', () => {
    expect(
      readSimulatorEnv({
        SIMULATOR_PORT: '0',
        SIMULATOR_HOST: '0.0.0.0',
        SIMULATOR_RECORDS_PER_SECOND: '100.5',
        SIMULATOR_CONTROL_ROUTES: 'TRUE',
        SIMULATOR_TOKEN_TTL_S: ' 120 ',
        SIMULATOR_RECORD_RECEIPTS: 'true',
      }),
    ).toEqual({ port: 0, host: '0.0.0.0', recordsPerSecond: 100.5, controlRoutes: true, tokenTtlSeconds: 120, recordReceipts: true });
    expect(readSimulatorEnv({ SIMULATOR_TOKEN_TTL_S: '' })).not.toHaveProperty('tokenTtlSeconds');
    expect(readSimulatorEnv({ SIMULATOR_CONTROL_ROUTES: '1' }).controlRoutes).toBe(true);
    expect(readSimulatorEnv({ SIMULATOR_CONTROL_ROUTES: '0' }).controlRoutes).toBe(false);
    expect(readSimulatorEnv({ SIMULATOR_RECORD_RECEIPTS: '1' }).recordReceipts).toBe(true);
    expect(readSimulatorEnv({ SIMULATOR_RECORD_RECEIPTS: ' False ' }).recordReceipts).toBe(false);
  });

  it.each([
    ['SIMULATOR_PORT', 'abc'],
    ['SIMULATOR_PORT', '70000'],
    ['SIMULATOR_PORT', '-1'],
    ['SIMULATOR_RECORDS_PER_SECOND', '0'],
    ['SIMULATOR_RECORDS_PER_SECOND', 'fast'],
    ['SIMULATOR_CONTROL_ROUTES', 'yes'],
    ['SIMULATOR_RECORD_RECEIPTS', 'on'],
    ['SIMULATOR_TOKEN_TTL_S', '0'],
    ['SIMULATOR_TOKEN_TTL_S', '-5'],
    ['SIMULATOR_TOKEN_TTL_S', '1.5'],
    ['SIMULATOR_TOKEN_TTL_S', '1e3'],
    ['SIMULATOR_TOKEN_TTL_S', 'hour'],
    ['SIMULATOR_TOKEN_TTL_S', '99999999999999999999'],
  ])('names %s=%s as invalid', (variable, value) => {
    let caught: unknown;
    try {
      readSimulatorEnv({ [variable]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SimulatorEnvError);
    expect((caught as SimulatorEnvError).variable).toBe(variable);
    expect((caught as SimulatorEnvError).message).toContain(variable);
  });
});

describe('npm run simulator', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    // A child a failed test left running.
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  function run(env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli.ts'], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => ({ stdout, stderr }) };
  }

  it('exits with code 2 naming an invalid variable', async () => {
    const { exited, output } = run({ SIMULATOR_PORT: 'nope' });
    expect(await exited).toBe(2);
    expect(output().stderr).toContain('SIMULATOR_PORT');
  });

  it('exits with code 2 naming an invalid token lifetime', async () => {
    const { exited, output } = run({ SIMULATOR_PORT: '0', SIMULATOR_TOKEN_TTL_S: '0' });
    expect(await exited).toBe(2);
    expect(output().stderr).toContain('SIMULATOR_TOKEN_TTL_S');
  });

  it('prints its base URL and the demo credential, serves, and stops on SIGTERM', async () => {
    const { child, exited, output } = run({
      SIMULATOR_PORT: '0',
      SIMULATOR_CONTROL_ROUTES: 'true',
      SIMULATOR_TOKEN_TTL_S: '90',
      SIMULATOR_RECORD_RECEIPTS: 'true',
    });
    const baseUrl = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => {
        const match = /listening at (\S+)/.exec(output().stdout);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`exited early: ${output().stderr}`)));
    });
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/Profiles\/$/);
    expect(output().stdout).toContain('Demo clientId: demo');
    expect(output().stdout).toContain('Bearer demo-import-token');

    const answer = await fetch(`${baseUrl}Async/demo/Import`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-import-token' },
      body: JSON.stringify({ Name: 'from the CLI test' }),
    });
    expect(answer.status).toBe(200);
    expect((await fetch(new URL('/__simulator/requests', baseUrl))).status).toBe(200);
    expect(output().stdout).toContain('Record receipts: on');
    const { AccessToken: accessToken } = (await answer.json()) as { AccessToken: number };
    const receipts = await fetch(new URL(`/__simulator/imports/demo/${accessToken}/receipts`, baseUrl));
    expect(await receipts.json()).toEqual({ received: 0, distinct: 0, duplicates: [] });

    // The demo OAuth client is printed in full (a public fixture) and its token works.
    const tokenUrl = /OAuth token endpoint: (\S+)/.exec(output().stdout)?.[1];
    expect(tokenUrl).toBe(new URL('/oauth2/token', baseUrl).href);
    const oauth = /Demo OAuth client .*client_id=(\S+) client_secret=(\S+) scope=demo\/ApiUser/.exec(output().stdout);
    expect(oauth?.[1]).toBe(DEMO_OAUTH_CLIENT.clientId);
    expect(oauth?.[2]).toBe(DEMO_OAUTH_CLIENT.clientSecret);
    const grant = await fetch(tokenUrl!, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: oauth![1]!, client_secret: oauth![2]! }),
    });
    expect(grant.status).toBe(200);
    const { access_token: bearer, expires_in: expiresIn } = (await grant.json()) as { access_token: string; expires_in: number };
    expect(expiresIn).toBe(90);
    const viaOAuth = await fetch(`${baseUrl}Async/demo/Import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ Name: 'with an OAuth token' }),
    });
    expect(viaOAuth.status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

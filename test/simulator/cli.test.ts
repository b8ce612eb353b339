import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readSimulatorEnv, SimulatorEnvError } from '../../src/simulator/cli-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));


describe('readSimulatorEnv', () => {
  it('applies the defaults', () => {
    expect(readSimulatorEnv({})).toEqual({ port: 4010, host: '127.0.0.1', controlRoutes: false });
  });

  it('reads every variable', () => {
    expect(
      readSimulatorEnv({
        SIMULATOR_PORT: '0',
        SIMULATOR_HOST: '0.0.0.0',
        SIMULATOR_RECORDS_PER_SECOND: '100.5',
        SIMULATOR_CONTROL_ROUTES: 'TRUE',
      }),
    ).toEqual({ port: 0, host: '0.0.0.0', recordsPerSecond: 100.5, controlRoutes: true });
    expect(readSimulatorEnv({ SIMULATOR_CONTROL_ROUTES: '1' }).controlRoutes).toBe(true);
    expect(readSimulatorEnv({ SIMULATOR_CONTROL_ROUTES: '0' }).controlRoutes).toBe(false);
  });

  it.each([
    ['SIMULATOR_PORT', 'abc'],
    ['SIMULATOR_PORT', '70000'],
    ['SIMULATOR_PORT', '-1'],
    ['SIMULATOR_RECORDS_PER_SECOND', '0'],
    ['SIMULATOR_RECORDS_PER_SECOND', 'fast'],
    ['SIMULATOR_CONTROL_ROUTES', 'yes'],
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
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('prints its base URL and the demo credential, serves, and stops on SIGTERM', async () => {
    const { child, exited, output } = run({ SIMULATOR_PORT: '0', SIMULATOR_CONTROL_ROUTES: 'true' });
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

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { byteCount, graphqlEndpoint, parseCommandLine, USAGE } from '../../src/cli/arguments.js';
import { EXIT, ExitError } from '../../src/cli/exit-codes.js';

/** `bulk-import`'s command line: what each option means, and one clear usage error (exit 2) for each mistake. */
describe('bulk-import arguments', () => {
  const parse = (args: string, env: Record<string, string> = {}) => parseCommandLine(args.split(' ').filter(Boolean), env);
  const usageErrorOf = (args: string, env: Record<string, string> = {}) => {
    try {
      parse(args, env);
    } catch (error) {
      expect(error).toBeInstanceOf(ExitError);
      expect((error as ExitError).exitCode).toBe(EXIT.USAGE);
      return (error as ExitError).message;
    }
    throw new Error(`no usage error for: ${args}`);
  };

  it('reads an upload with its defaults', () => {
    expect(parse('upload data.ndjson --client demo')).toEqual({
      command: 'upload',
      file: 'data.ndjson',
      clientId: 'demo',
      graphqlUrl: new URL('http://localhost:4000/graphql'),
      token: undefined,
      format: 'NDJSON',
      name: undefined,
      execute: true,
      json: false,
      resume: undefined,
      chunkSize: 32 * 1024 * 1024,
    });
  });

  it('reads every option', () => {
    expect(parse('upload people.csv --client acme --gateway https://gw.example/ --token t0k --csv --name Spring --no-execute --json --chunk-size 64k')).toEqual(
      {
        command: 'upload',
        file: 'people.csv',
        clientId: 'acme',
        graphqlUrl: new URL('https://gw.example/graphql'),
        token: 't0k',
        format: 'CSV',
        name: 'Spring',
        execute: false,
        json: true,
        resume: undefined,
        chunkSize: 65536,
      },
    );
  });

  it('takes the gateway and the token from the environment when not given', () => {
    const env = { BULK_IMPORT_GATEWAY: 'http://10.0.0.5:4100', BULK_IMPORT_TOKEN: 'from-env' };
    expect(parse('upload f --client demo', env)).toMatchObject({ graphqlUrl: new URL('http://10.0.0.5:4100/graphql'), token: 'from-env' });
    expect(parse('upload f --client demo --gateway http://other:1 --token given', env)).toMatchObject({
      graphqlUrl: new URL('http://other:1/graphql'),
      token: 'given',
    });
    expect(parse('upload f --client demo', { BULK_IMPORT_GATEWAY: '', BULK_IMPORT_TOKEN: '' })).toMatchObject({ token: undefined });
  });

  it('continues a named job with --resume, --client optional', () => {
    expect(parse('upload f --resume job-1')).toMatchObject({ resume: 'job-1', clientId: undefined });
    expect(parse('upload f --resume job-1 --client demo')).toMatchObject({ resume: 'job-1', clientId: 'demo' });
  });

  it('asks for help with --help, -h or help', () => {
    for (const args of ['--help', '-h', 'help', 'upload --help', 'upload f --client demo -h']) expect(parse(args)).toEqual({ command: 'help' });
    expect(USAGE).toMatch(/^Usage: bulk-import upload FILE --client ID \[options\]/);
    for (const code of [0, 1, 2, 3, 4]) expect(USAGE).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });

  it('names each mistake', () => {
    expect(usageErrorOf('')).toMatch(/^No command/);
    expect(usageErrorOf('download f --client demo')).toMatch(/^Unknown command 'download'/);
    expect(usageErrorOf('upload --client demo')).toMatch(/^No FILE/);
    expect(usageErrorOf('upload a b --client demo')).toMatch(/^Unexpected argument 'b'/);
    expect(usageErrorOf('upload f')).toMatch(/--client ID is required/);
    expect(usageErrorOf('upload f --clinet demo')).toMatch(/Unknown option '--clinet'/);
    expect(usageErrorOf('upload f --client')).toMatch(/--client/);
    expect(usageErrorOf('upload f --client demo --json=yes')).toMatch(/--json/);
    expect(usageErrorOf('upload f --client demo --gateway ftp://x')).toMatch(/--gateway must be an http\(s\) URL/);
    expect(usageErrorOf('upload f --client demo --gateway nonsense')).toMatch(/--gateway must be an http\(s\) URL/);
    expect(usageErrorOf('upload f --client demo --gateway http://u:p@host')).toMatch(/user or password/);
    expect(usageErrorOf('upload f --client demo --chunk-size 12x')).toMatch(/--chunk-size/);
    expect(usageErrorOf(`upload f --client demo --name ${'n'.repeat(101)}`)).toMatch(/--name must have 1 to 100 characters/);
    expect(usageErrorOf('upload f --resume job-1 --csv --no-execute')).toBe('--resume continues a job as it was created: --csv, --no-execute does not apply');
  });

  it('finds the GraphQL endpoint from an origin or the endpoint itself', () => {
    expect(graphqlEndpoint('http://localhost:4000').href).toBe('http://localhost:4000/graphql');
    expect(graphqlEndpoint('http://localhost:4000/').href).toBe('http://localhost:4000/graphql');
    expect(graphqlEndpoint('https://gw.example/graphql').href).toBe('https://gw.example/graphql');
    expect(graphqlEndpoint('https://gw.example/imports/?x=1#y').href).toBe('https://gw.example/imports/graphql');
  });

  it('reads chunk sizes in bytes with binary suffixes, within 1 KiB to 1 GiB', () => {
    expect(byteCount('65536')).toBe(65536);
    expect(byteCount('64K')).toBe(65536);
    expect(byteCount('32m')).toBe(32 * 1024 ** 2);
    expect(byteCount('1g')).toBe(1024 ** 3);
    for (const bad of ['1023', '2g', '-1', '1.5m', '', 'm']) expect(() => byteCount(bad)).toThrow(/--chunk-size/);
  });
});

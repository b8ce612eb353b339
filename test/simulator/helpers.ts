/**
 * Fixtures for the simulator tests: a manual clock, simulators that stop themselves after each
 * test, a small typed client over global fetch, a token request for the OAuth endpoint, and a raw
 * HTTP request for paths fetch would normalise.
 */
import { request } from 'node:http';
import { afterEach } from 'vitest';
import { DEMO_OAUTH_CLIENT, type Simulator, type SimulatorOAuthClient, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

/** A clock that moves only when told to. */
export class ManualClock {
  t: number;
  constructor(start = Date.UTC(2025, 0, 1)) {
    this.t = start;
  }
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Returns a starter whose simulators are all stopped after each test. */
export function useSimulators(): (options?: SimulatorOptions) => Promise<Simulator> {
  const started: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((simulator) => simulator.stop()));
  });
  return async (options) => {
    const simulator = await startSimulator(options);
    started.push(simulator);
    return simulator;
  };
}

export const IMPORT_AUTH = 'Bearer demo-import-token';
export const READONLY_AUTH = 'Bearer demo-readonly-token';

/** A parsed answer. */
export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON; `any` because tests read arbitrary fields. */
  body: any;
}

/** A thin client for the five routes; `prefix` is '' or 'v4/'. */
export function client(simulator: Simulator, options: { clientId?: string; auth?: string | null; prefix?: string } = {}) {
  const clientId = encodeURIComponent(options.clientId ?? 'demo');
  const auth = options.auth === undefined ? IMPORT_AUTH : options.auth;
  const base = `${simulator.baseUrl}${options.prefix ?? ''}Async/${clientId}/Import`;
  const call = async (method: string, url: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (auth !== null) headers['authorization'] = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  return {
    initiate: (body: unknown = { Name: 'test import' }) => call('POST', base, body),
    stage: (token: number | string, body: unknown) => call('POST', `${base}/${token}/Stage`, body),
    stageRecords: (token: number | string, records: unknown[]) => call('POST', `${base}/${token}/Stage`, { UserProfilePreferences: records }),
    execute: (token: number | string) => call('POST', `${base}/${token}/Execute`),
    status: (token: number | string) => call('GET', `${base}/${token}/Status`),
    exceptions: (token: number | string, query = '') => call('GET', `${base}/${token}/Exceptions${query}`),
  };
}

/** `Authorization: Basic` for an OAuth client: each half form-urlencoded first (RFC 6749 §2.3.1). */
export function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/**
 * POSTs `form` to the token endpoint as `application/x-www-form-urlencoded` (unless `headers`
 * sets another content type).
 */
export async function tokenRequest(simulator: Simulator, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(simulator.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** Obtains a bearer token for `oauth` (default: the demo OAuth client) with HTTP Basic; throws unless 200. */
export async function issueToken(simulator: Simulator, oauth: SimulatorOAuthClient = DEMO_OAUTH_CLIENT): Promise<string> {
  const answer = await tokenRequest(simulator, { grant_type: 'client_credentials' }, { authorization: basicAuth(oauth.clientId, oauth.clientSecret) });
  if (answer.status !== 200) throw new Error(`token request answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

/** Sends a request with `path` exactly as given (fetch would resolve `..` and `%2e%2e`). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  // An explicit length: Node sends GET/DELETE bodies without framing otherwise.
  const allHeaders = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: allHeaders, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `n` valid records with ids `p-<start>`… */
export function validRecords(n: number, start = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, index) => ({ ProfileId: `p-${start + index}`, Emails: [{ EmailAddress: `u${start + index}@example.com` }] }));
}

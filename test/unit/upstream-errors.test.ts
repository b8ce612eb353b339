import { describe, expect, it } from 'vitest';
import { errorFromResponse, errorFromTransport, parseRetryAfter } from '../../src/upstream/upstream-errors.js';

const now = Date.parse('2026-11-29T12:00:00Z');
const authorization = 'Bearer s3cret-token-value';

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => expect(parseRetryAfter('120', now)).toBe(120));
  it('reads an HTTP-date', () => expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:30 GMT', now)).toBe(30));
  it('treats a date in the past as now', () => expect(parseRetryAfter('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0));
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('errorFromResponse', () => {
  it.each([
    [400, 'BAD_USER_INPUT'],
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'BAD_USER_INPUT'],
    [413, 'BAD_USER_INPUT'],
    [429, 'RATE_LIMITED'],
    [500, 'UPSTREAM_UNAVAILABLE'],
    [502, 'UPSTREAM_UNAVAILABLE'],
    [503, 'UPSTREAM_UNAVAILABLE'],
    [504, 'UPSTREAM_UNAVAILABLE'],
    [418, 'UPSTREAM_UNAVAILABLE'],
  ])('maps HTTP %i to %s with upstreamStatus', (status, code) => {
    const error = errorFromResponse({ status, retryAfter: undefined, upstreamMessage: undefined, authorization }, now);
    expect(error.extensions).toMatchObject({ code, upstreamStatus: status });
  });

  it('gives retryAfterSeconds on 429, from seconds or a date', () => {
    const seconds = errorFromResponse({ status: 429, retryAfter: '7', upstreamMessage: undefined, authorization }, now);
    const date = errorFromResponse({ status: 429, retryAfter: 'Sun, 29 Nov 2026 12:01:00 GMT', upstreamMessage: undefined, authorization }, now);
    expect(seconds.extensions['retryAfterSeconds']).toBe(7);
    expect(date.extensions['retryAfterSeconds']).toBe(60);
  });

  it('passes the upstream message of a 400 on, without URLs or the credential', () => {
    const error = errorFromResponse(
      {
        status: 400,
        retryAfter: undefined,
        upstreamMessage: 'Bad call to https://pm.mypreferences.com/Profiles/Async/x with Bearer s3cret-token-value and s3cret-token-value',
        authorization,
      },
      now,
    );
    expect(error.message).toContain('Bad call to [url] with [credential] and [credential]');
    expect(error.message).not.toMatch(/s3cret|mypreferences\.com/);
  });
});

describe('errorFromTransport', () => {
  it.each([
    [{ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }, 'TIMEOUT'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT', message: 'connect timeout' }, 'CONNECT_TIMEOUT'],
    [{ code: 'UND_ERR_BODY_TIMEOUT', message: 'body timeout' }, 'TIMEOUT'],
    [{ message: 'fetch failed', cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.1.2.3:443' } }, 'CONNECTION_REFUSED'],
    [{ code: 'UND_ERR_SOCKET', message: 'other side closed' }, 'CONNECTION_RESET'],
    [{ errors: [{ code: 'ECONNREFUSED' }] }, 'CONNECTION_REFUSED'],
    [new Error('something else'), 'CONNECTION_FAILED'],
  ])('maps %o to UPSTREAM_UNAVAILABLE (%s) without echoing the socket error', (cause, reason) => {
    const error = errorFromTransport(cause);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason });
    expect(error.extensions['upstreamStatus']).toBeUndefined();
    expect(error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
  });
});

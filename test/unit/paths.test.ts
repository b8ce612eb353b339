import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { routePath } from '../../src/upstream/paths.js';

describe('routePath', () => {
  it('builds each route under the base path', () => {
    expect(routePath('/Profiles/', 'initiate', { clientId: 'acme' })).toBe('/Profiles/Async/acme/Import');
    expect(routePath('/Profiles/', 'status', { clientId: 'acme', accessToken: '12' })).toBe('/Profiles/Async/acme/Import/12/Status');
    expect(routePath('/Profiles/', 'exceptions', { clientId: 'acme', accessToken: '12' }, { limit: 5, offset: 2 })).toBe(
      '/Profiles/Async/acme/Import/12/Exceptions?limit=5&offset=2',
    );
  });

  it.each([
    ['../x', '..%2Fx'],
    ['a/b', 'a%2Fb'],
    ['a?b', 'a%3Fb'],
    ['a#b', 'a%23b'],
    ['a b%', 'a%20b%25'],
    ['$&', '%24%26'],
  ])('keeps clientId %j inside one segment', (clientId, encoded) => {
    expect(routePath('/Profiles/', 'status', { clientId, accessToken: '1' })).toBe(`/Profiles/Async/${encoded}/Import/1/Status`);
  });

  it.each(['', '.', '..', '\ud800'])('refuses clientId %j as BAD_USER_INPUT', (clientId) => {
    const attempt = () => routePath('/Profiles/', 'status', { clientId, accessToken: '1' });
    expect(attempt).toThrow(GatewayError);
    try {
      attempt();
    } catch (error) {
      expect((error as GatewayError).code).toBe('BAD_USER_INPUT');
    }
  });
});

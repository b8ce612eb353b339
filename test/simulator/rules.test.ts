import { describe, expect, it } from 'vitest';
import { DEFAULT_IMPORT_SETTINGS, type UpstreamImportSettings } from '../../src/mypreferences-contract.js';
import { parseTokenForm, readClientAuthentication } from '../../src/simulator/oauth-request.js';
import { isTokenTarget, matchRoute } from '../../src/simulator/routing.js';
import { validateInitiateBody, validateRecord } from '../../src/simulator/validation.js';

const settings: UpstreamImportSettings = { Name: 'n', ...DEFAULT_IMPORT_SETTINGS };

describe('record rules', () => {
  it.each([
    [{ ProfileId: 'p' }, { kind: 'valid' }],
    [{ ProfileId: 'p', Emails: [] }, { kind: 'valid' }],
    [{ ProfileId: 42 }, { kind: 'invalid', message: 'ProfileId is required' }],
    [{ ProfileId: 'p', Emails: [{}] }, { kind: 'invalid', message: 'Email address is invalid' }],
    [{ ProfileId: 'p', Emails: ['a@b'] }, { kind: 'invalid', message: 'Email address is invalid' }],
    [{ Emails: [{ EmailAddress: 'nope' }] }, { kind: 'invalid', message: 'ProfileId is required' }], // the identity rule comes first
    [{ ProfileId: 'p', Emails: [{ EmailAddress: 'nope' }], Consents: [{ Prior: true }] }, { kind: 'invalid', message: 'Email address is invalid' }],
    [{ ProfileId: 'p', Consents: [{ Prior: 'true' }] }, { kind: 'valid' }],
    [{ ProfileId: 'p', Consents: [{ Prior: true }] }, { kind: 'exception-candidate', message: 'Prior consent not allowed' }],
  ])('judges %j as %j', (record, verdict) => {
    expect(validateRecord(record, settings)).toEqual(verdict);
  });

  it('needs an AlternateId of the MatchValue type instead of a ProfileId when MatchCriteria is set', () => {
    const byCrm = { ...settings, MatchCriteria: 'AlternateIdType', MatchValue: 'CRM' };
    expect(validateRecord({ AlternateIds: [{ Type: 'CRM' }] }, byCrm)).toEqual({ kind: 'valid' });
    expect(validateRecord({ AlternateIds: [{ AlternateIdType: 'CRM' }] }, byCrm)).toEqual({ kind: 'valid' });
    expect(validateRecord({ ProfileId: 'p', AlternateIds: 'CRM' }, byCrm)).toEqual({
      kind: 'invalid',
      message: 'AlternateId of type CRM is required',
    });
  });
});

describe('Initiate settings', () => {
  it('applies the defaults and reads null as absent', () => {
    expect(validateInitiateBody({ Name: 'n', DataStageDuration: null, ImportAction: null, RefreshTags: null })).toEqual({ ok: true, settings });
  });

  it('echoes a MatchValue given without MatchCriteria', () => {
    const result = validateInitiateBody({ Name: 'n', MatchValue: 'CRM' });
    expect(result.ok && result.settings).toMatchObject({ MatchCriteria: null, MatchValue: 'CRM' });
  });

  it('reports every invalid field at once', () => {
    const result = validateInitiateBody({ DataStageDuration: -1, ImportAction: 'add', AllowPriorConsents: 1 });
    expect(result.ok).toBe(false);
    expect(!result.ok && Object.keys(result.modelState ?? {}).sort()).toEqual(['AllowPriorConsents', 'DataStageDuration', 'ImportAction', 'Name']);
  });
});

describe('route matching', () => {
  it('matches by raw segment and keeps parameters encoded', () => {
    expect(matchRoute('/Profiles/v4/Async/a%2Fb/Import/12/Exceptions?limit=3')).toEqual({
      route: 'exceptions',
      method: 'GET',
      rawClientId: 'a%2Fb',
      rawAccessToken: '12',
      query: 'limit=3',
    });
    expect(matchRoute('/Profiles/Async/x/Import')).toMatchObject({ route: 'initiate', rawAccessToken: undefined });
    expect(matchRoute('/Profiles/Async/x/Import/1/Stage/extra')).toBeUndefined();
    expect(matchRoute('/Profiles/v4/v4/Async/x/Import')).toBeUndefined();
    expect(matchRoute('Profiles/Async/x/Import')).toBeUndefined();
  });

  it('knows the token endpoint by its exact path, outside /Profiles/', () => {
    expect(isTokenTarget('/oauth2/token')).toBe(true);
    expect(isTokenTarget('/oauth2/token?grant_type=x')).toBe(true);
    expect(isTokenTarget('/Profiles/oauth2/token')).toBe(false);
    expect(isTokenTarget('/oauth2/token/')).toBe(false);
    expect(matchRoute('/oauth2/token')).toBeUndefined();
  });
});

describe('token request parsing', () => {
  const form = (body: string) => {
    const parsed = parseTokenForm(Buffer.from(body));
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.params;
  };
  const basic = (decoded: string) => `Basic ${Buffer.from(decoded).toString('base64')}`;

  it('reads client authentication from exactly one place', () => {
    expect(readClientAuthentication(basic('a%3Ab+c:s%25+t'), form('grant_type=client_credentials'))).toEqual({
      kind: 'credentials',
      clientId: 'a:b c',
      clientSecret: 's% t',
    });
    expect(readClientAuthentication(undefined, form('client_id=a+b&client_secret=s%26'))).toEqual({ kind: 'credentials', clientId: 'a b', clientSecret: 's&' });
    expect(readClientAuthentication(undefined, form('client_id=a'))).toEqual({ kind: 'credentials', clientId: 'a', clientSecret: undefined });
    expect(readClientAuthentication(basic('a:s'), form('client_secret=s'))).toEqual({ kind: 'both' });
    expect(readClientAuthentication(undefined, form('client_secret=s'))).toEqual({ kind: 'none' });
    for (const header of ['Bearer x', 'Basic', basic('no-colon'), basic(':secret'), basic('a%ZZ:s'), 'Basic a b']) {
      expect(readClientAuthentication(header, form('')), header).toEqual({ kind: 'none' });
    }
  });

  it('refuses a repeated parameter and reads an empty one as omitted', () => {
    expect(parseTokenForm(Buffer.from('scope=a&scope=b'))).toEqual({ ok: false, message: expect.stringContaining('scope') });
    expect([...form('grant_type=client_credentials&scope=')]).toEqual([['grant_type', 'client_credentials']]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseExceptionPage, parseImportState, ResponseShapeError } from '../../src/upstream/parse.js';

describe('parseImportState', () => {
  it('reads missing counters as 0 and ignores unknown fields', () => {
    const state = parseImportState({ AccessToken: 12, Status: 'Processing', Name: 'n', Processed: 5, SomethingNew: [1, 2] });
    expect(state).toMatchObject({ AccessToken: 12, Status: 'Processing', Processed: 5, Pending: 0, Exceptions: 0, ImportAction: 'Add', DataStageDuration: 3 });
    expect(state).not.toHaveProperty('SomethingNew');
  });

  it('accepts a numeric-string handle and tolerates status casing', () => {
    expect(parseImportState({ AccessToken: '77', Status: 'completed' })).toMatchObject({ AccessToken: 77, Status: 'Completed' });
  });

  it.each([
    ['not an object', []],
    ['no status', { AccessToken: 1 }],
    ['unknown status', { AccessToken: 1, Status: 'Exploded' }],
    ['no handle', { Status: 'Queued' }],
    ['negative counter', { AccessToken: 1, Status: 'Queued', Processed: -1 }],
    ['string counter', { AccessToken: 1, Status: 'Queued', Processed: '5' }],
    ['bad date', { AccessToken: 1, Status: 'Queued', Expires: 'tomorrow-ish' }],
    ['bad flag', { AccessToken: 1, Status: 'Queued', RefreshTags: 'yes' }],
  ])('refuses %s', (_what, body) => {
    expect(() => parseImportState(body)).toThrow(ResponseShapeError);
  });
});

describe('parseExceptionPage', () => {
  it('reads a page', () => {
    const page = parseExceptionPage({
      Count: 1,
      HasMore: false,
      Limit: 10,
      Offset: 1,
      TotalResults: 1,
      BulkUserProfilePreferenceExceptions: [{ Phase: 'Staging', ExceptionMessage: 'Email address is invalid', ProfileId: 'p-1', Record: { ProfileId: 'p-1' } }],
    });
    expect(page.BulkUserProfilePreferenceExceptions[0]).toEqual({ Phase: 'Staging', ExceptionMessage: 'Email address is invalid', ProfileId: 'p-1', Record: { ProfileId: 'p-1' } });
  });

  it('refuses an unknown phase or a non-object record', () => {
    expect(() => parseExceptionPage({ BulkUserProfilePreferenceExceptions: [{ Phase: 'Later' }] })).toThrow(ResponseShapeError);
    expect(() => parseExceptionPage({ BulkUserProfilePreferenceExceptions: [{ Phase: 'Staging', Record: 'x' }] })).toThrow(ResponseShapeError);
  });
});

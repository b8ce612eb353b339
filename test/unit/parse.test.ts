import { describe, expect, it } from 'vitest';
import { parseExceptionPage, parseImportState, ResponseShapeError, UnknownStatusError } from '../../src/upstream/parse.js';

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
    ['no handle', { Status: 'Queued' }],
    ['negative counter', { AccessToken: 1, Status: 'Queued', Processed: -1 }],
    ['string counter', { AccessToken: 1, Status: 'Queued', Processed: '5' }],
    ['bad date', { AccessToken: 1, Status: 'Queued', Expires: 'tomorrow-ish' }],
    ['bad flag', { AccessToken: 1, Status: 'Queued', RefreshTags: 'yes' }],
  ])('refuses %s', (_what, body) => {
    expect(() => parseImportState(body)).toThrow(ResponseShapeError);
  });
});

describe('Status spellings and Expires zones', () => {
  it.each([
    ['Complete', 'Completed'],
    ['COMPLETE', 'Completed'],
    ['completed', 'Completed'],
    ['In Progress', 'Processing'],
    ['in_progress', 'Processing'],
    ['Staged', 'Staging'],
    ['Failure', 'Failed'],
  ])('reads Status %j as %s', (spelling, status) => {
    expect(parseImportState({ AccessToken: 1, Status: spelling }).Status).toBe(status);
  });

  it('names an unknown status in its own error', () => {
    const attempt = () => parseImportState({ AccessToken: 1, Status: 'Exploded' });
    expect(attempt).toThrow(UnknownStatusError);
    expect(attempt).toThrow(ResponseShapeError);
  });

  it.each([
    ['2026-12-03T10:00:00', '2026-12-03T10:00:00.000Z'],
    ['2026-12-03 10:00:00.5', '2026-12-03T10:00:00.500Z'],
    ['2026-12-03T10:00:00Z', '2026-12-03T10:00:00.000Z'],
    ['2026-12-03T10:00:00+02:00', '2026-12-03T08:00:00.000Z'],
  ])('reads Expires %j as %s, whatever the local time zone', (expires, utc) => {
    expect(parseImportState({ AccessToken: 1, Status: 'Queued', Expires: expires }).Expires).toBe(utc);
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
    expect(page.BulkUserProfilePreferenceExceptions[0]).toEqual({
      Phase: 'Staging',
      ExceptionMessage: 'Email address is invalid',
      ProfileId: 'p-1',
      Record: { ProfileId: 'p-1' },
    });
  });

  it('refuses an unknown phase or a non-object record', () => {
    expect(() => parseExceptionPage({ BulkUserProfilePreferenceExceptions: [{ Phase: 'Later' }] })).toThrow(ResponseShapeError);
    expect(() => parseExceptionPage({ BulkUserProfilePreferenceExceptions: [{ Phase: 'Staging', Record: 'x' }] })).toThrow(ResponseShapeError);
  });
});

import { describe, expect, it } from 'vitest';
import { client, ManualClock, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

/** 10 records per second and 500 ms in the queue: one record per 100 ms of clock. */
const timing = { recordsPerSecond: 10, queueDelayMs: 500 };

const batch1 = [
  { ProfileId: 'p-0', Emails: [{ EmailAddress: 'a@example.com' }] }, // valid, ordinal 0
  { ProfileId: 'p-1', Emails: [{ EmailAddress: 'a@example.com' }, { EmailAddress: 'nope' }] }, // invalid e-mail
  { Emails: [{ EmailAddress: 'c@example.com' }] }, // no ProfileId
  { ProfileId: 'p-3', Consents: [{ Name: 'news', Prior: true }] }, // exception, ordinal 1
  { ProfileId: 'p-4' }, // valid, ordinal 2
];
const batch2 = [
  { ProfileId: 'p-5' }, // ordinal 3
  { ProfileId: 'p-6', Consents: [{ Prior: false }, { Prior: true }] }, // exception, ordinal 4
  { ProfileId: 'p-7' }, // ordinal 5
  { ProfileId: '' }, // empty ProfileId
];

describe('the import lifecycle, driven by the clock', () => {
  it('goes Initiated → Staging → Queued → Processing → Completed with cumulative counters', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    expect((await api.status(token)).body).toMatchObject({ Status: 'Initiated', Pending: 0 });

    const first = await api.stageRecords(token, batch1);
    expect(first.body).toMatchObject({
      Status: 'Staging',
      TotalRecordsReceived: 5,
      ValidationSuccessful: 3,
      ValidationFailed: 2,
      Pending: 3,
      Processed: 0,
      Exceptions: 0,
      NotHonored: 0,
    });
    const second = await api.stageRecords(token, batch2);
    expect(second.body).toMatchObject({ Status: 'Staging', TotalRecordsReceived: 9, ValidationSuccessful: 6, ValidationFailed: 3, Pending: 6 });

    // Staging failures are listed before Execute; exceptions are not known yet.
    const beforeExecute = await api.exceptions(token);
    expect(beforeExecute.body.TotalResults).toBe(3);
    expect(beforeExecute.body.BulkUserProfilePreferenceExceptions).toEqual([
      { Phase: 'Staging', ExceptionMessage: 'Email address is invalid', ProfileId: 'p-1', Record: batch1[1] },
      { Phase: 'Staging', ExceptionMessage: 'ProfileId is required', ProfileId: null, Record: batch1[2] },
      { Phase: 'Staging', ExceptionMessage: 'ProfileId is required', ProfileId: '', Record: batch2[3] },
    ]);

    const executed = await api.execute(token);
    expect(executed.body).toMatchObject({ Status: 'Queued', Pending: 6, Processed: 0, Exceptions: 0 });

    clock.advance(499);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Queued', Pending: 6 });

    clock.advance(1);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Processing', Processed: 0, Exceptions: 0, Pending: 6 });

    // 250 ms of processing at 10 records/s: two records done, the second an exception.
    clock.advance(250);
    expect((await api.status(token)).body).toMatchObject({
      Status: 'Processing',
      TotalRecordsReceived: 9,
      ValidationSuccessful: 6,
      ValidationFailed: 3,
      Processed: 1,
      Exceptions: 1,
      Pending: 4,
      NotHonored: 0,
    });
    const midway = await api.exceptions(token);
    expect(midway.body.TotalResults).toBe(4);
    expect(midway.body.BulkUserProfilePreferenceExceptions.at(-1)).toEqual({
      Phase: 'Execution',
      ExceptionMessage: 'Prior consent not allowed',
      ProfileId: 'p-3',
      Record: batch1[3],
    });

    clock.advance(350);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Completed', Processed: 4, Exceptions: 2, Pending: 0, NotHonored: 0 });
    clock.advance(60_000);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Completed', Processed: 4, Exceptions: 2 });

    // Paging: 3 staging failures then 2 execution exceptions.
    const page1 = (await api.exceptions(token, '?limit=2')).body;
    expect(page1).toMatchObject({ Count: 2, HasMore: true, Limit: 2, Offset: 1, TotalResults: 5 });
    expect(page1.BulkUserProfilePreferenceExceptions.map((item: { ProfileId: string | null }) => item.ProfileId)).toEqual(['p-1', null]);
    const page2 = (await api.exceptions(token, '?limit=2&offset=3')).body;
    expect(page2).toMatchObject({ Count: 2, HasMore: true, Offset: 3, TotalResults: 5 });
    expect(page2.BulkUserProfilePreferenceExceptions.map((item: { Phase: string }) => item.Phase)).toEqual(['Staging', 'Execution']);
    const page3 = (await api.exceptions(token, '?limit=2&offset=5')).body;
    expect(page3).toMatchObject({ Count: 1, HasMore: false, TotalResults: 5 });
    expect(page3.BulkUserProfilePreferenceExceptions[0]).toMatchObject({ Phase: 'Execution', ProfileId: 'p-6', Record: batch2[1] });
    const beyond = (await api.exceptions(token, '?offset=6')).body;
    expect(beyond).toMatchObject({ Count: 0, HasMore: false, TotalResults: 5, BulkUserProfilePreferenceExceptions: [] });
    expect((await api.exceptions(token, '?limit=5000')).body).toMatchObject({ Limit: 1000, Count: 5 });
  });

  it.each(['?limit=0', '?offset=0', '?limit=-1', '?offset=-3', '?limit=abc', '?limit=1.5', '?offset=', '?limit=1e3'])(
    'refuses Exceptions paging %s with 400',
    async (query) => {
      const simulator = await start();
      const api = client(simulator);
      const token = (await api.initiate()).body.AccessToken as number;
      const answer = await api.exceptions(token, query);
      expect(answer.status).toBe(400);
      expect(Object.keys(answer.body.ModelState)).toHaveLength(1);
    },
  );

  it('refuses Stage after Execute, and a second Execute, with 400', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(token, validRecords(2));
    expect((await api.execute(token)).status).toBe(200);

    const lateStage = await api.stageRecords(token, validRecords(1));
    expect(lateStage.status).toBe(400);
    expect(lateStage.body).toEqual({ Message: expect.any(String) });
    const again = await api.execute(token);
    expect(again.status).toBe(400);
    expect(again.body.Message).toMatch(/already been executed/);

    clock.advance(10_000);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Completed', TotalRecordsReceived: 2, Processed: 2 });
    expect((await api.execute(token)).status).toBe(400);
    expect((await api.stageRecords(token, validRecords(1))).status).toBe(400);
  });

  it('fails an import with no valid record once it leaves the queue', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(token, [{ Emails: [] }, { ProfileId: 'p', Emails: [{ EmailAddress: 'x' }] }]);
    expect((await api.execute(token)).body).toMatchObject({ Status: 'Queued', ValidationSuccessful: 0, ValidationFailed: 2 });
    clock.advance(499);
    expect((await api.status(token)).body.Status).toBe('Queued');
    clock.advance(1);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Failed', Processed: 0, Exceptions: 0, Pending: 0 });

    // An import executed without any Stage call fails the same way.
    const empty = (await api.initiate()).body.AccessToken as number;
    await api.execute(empty);
    clock.advance(500);
    expect((await api.status(empty)).body).toMatchObject({ Status: 'Failed', TotalRecordsReceived: 0 });
  });

  it('failImport() freezes the counters at that moment', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(token, validRecords(10));
    await api.execute(token);
    clock.advance(500 + 300);
    simulator.failImport('demo', token);
    const failed = (await api.status(token)).body;
    expect(failed).toMatchObject({ Status: 'Failed', Processed: 3, Exceptions: 0, Pending: 0, ValidationSuccessful: 10 });
    clock.advance(60_000);
    expect((await api.status(token)).body).toEqual(failed);
    expect(() => simulator.failImport('demo', 424242)).toThrow();
    expect(() => simulator.failImport('other', token)).toThrow();
  });

  it('matches on an AlternateId when MatchCriteria is set', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate({ Name: 'by CRM id', MatchCriteria: 'AlternateIdType', MatchValue: 'CRM' })).body.AccessToken as number;
    const records = [
      { AlternateIds: [{ Type: 'CRM', Value: '1' }] },
      { AlternateIds: [{ AlternateIdType: 'CRM', Value: '2' }] },
      { ProfileId: 'p-3', AlternateIds: [{ Type: 'ERP', Value: '3' }] },
      { ProfileId: 'p-4' },
    ];
    const staged = await api.stageRecords(token, records);
    expect(staged.body).toMatchObject({ ValidationSuccessful: 2, ValidationFailed: 2 });
    const page = (await api.exceptions(token)).body;
    expect(page.BulkUserProfilePreferenceExceptions).toEqual([
      { Phase: 'Staging', ExceptionMessage: 'AlternateId of type CRM is required', ProfileId: 'p-3', Record: records[2] },
      { Phase: 'Staging', ExceptionMessage: 'AlternateId of type CRM is required', ProfileId: 'p-4', Record: records[3] },
    ]);
  });

  it('imports prior consents when AllowPriorConsents is true', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, ...timing });
    const api = client(simulator);
    const token = (await api.initiate({ Name: 'prior ok', AllowPriorConsents: true })).body.AccessToken as number;
    await api.stageRecords(token, [{ ProfileId: 'p', Consents: [{ Prior: true }] }]);
    await api.execute(token);
    clock.advance(10_000);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Completed', Processed: 1, Exceptions: 0 });
  });

  it('counts a large import without keeping its valid records', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    const records = Array.from({ length: 100_000 }, (_, index) => ({ ProfileId: `p${index}` }));
    expect((await api.stageRecords(token, records)).body).toMatchObject({ TotalRecordsReceived: 100_000, ValidationSuccessful: 100_000 });
    await api.execute(token);
    clock.advance(500 + 4_000); // default speed: 2,500 records per second
    expect((await api.status(token)).body).toMatchObject({ Status: 'Processing', Processed: 10_000, Pending: 90_000 });
    clock.advance(36_000);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Completed', Processed: 100_000 });
  });
});

/**
 * Synthetic records for the demos (`progress-demo.ts`, `web/`): mostly valid, with every kind of
 * failure the simulator knows, so the summary and the failed records have something to show.
 */
export function syntheticRecord(i: number): Record<string, unknown> {
  if (i % 41 === 0) return { Emails: [{ EmailAddress: `anonymous${i}@example.com` }] }; // no ProfileId
  if (i % 23 === 0) return { ProfileId: `p-${i}`, Emails: [{ EmailAddress: `broken-address-${i}` }] }; // invalid e-mail
  if (i % 37 === 0) return { ProfileId: `p-${i}`, Consents: [{ Name: 'Marketing', Prior: true }] }; // exception on execute
  return { ProfileId: `p-${i}`, Emails: [{ EmailAddress: `person${i}@example.com` }], Preferences: [{ Name: 'Newsletter', Value: 'Yes' }] };
}

/**
 * Records for a demo import whose progress is visibly live with the defaults: the simulator
 * processes 2,500 records a second (`SIMULATOR_RECORDS_PER_SECOND`) and the gateway polls every
 * 2 s (`POLL_INTERVAL_MS`), so 25,000 records take about 10 s and arrive in about five steps.
 */
export const DEMO_RECORDS = 25_000;

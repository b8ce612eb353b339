/** Synthetic MyPreferences records for tests, each failing (or not) for a known reason. */

export const validRecord = (id: number) => ({
  ProfileId: `p-${id}`,
  Emails: [{ EmailAddress: `person${id}@example.com` }],
  Preferences: [{ Name: 'Newsletter', Value: 'Yes' }],
});

/** Fails validation while staging: no ProfileId. */
export const recordWithoutProfileId = () => ({ Emails: [{ EmailAddress: 'anon@example.com' }] });

/** Fails validation while staging: an e-mail address without `@`. */
export const recordWithBadEmail = (id: number) => ({ ProfileId: `p-${id}`, Emails: [{ EmailAddress: 'nope' }] });

/** Passes validation, then becomes an exception during execution (prior consents not allowed). */
export const recordWithPriorConsent = (id: number) => ({ ProfileId: `p-${id}`, Consents: [{ Name: 'Marketing', Prior: true }] });

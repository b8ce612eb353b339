/**
 * What GraphiQL opens with when the browser has no saved tab: the import workflow as the
 * operations of `operations/bulk-import.graphql`, one step each, with the variables they share.
 * `test/integration/graphiql.test.ts` validates it against the schema, so it cannot drift.
 */
export const STARTER_DOCUMENT = `# The bulk-import workflow, one step at a time: put the cursor in an operation and run it
# (Ctrl-Enter, or pick it from the run button's menu). The variables below are shared.
#
# 1. InitiateImport: creates an import; copy its accessToken into the variables.
# 2. StageImport: sends records (here one valid, one invalid); run it as often as you like.
# 3. ExecuteImport: starts the processing.
# 4. WatchImport: the importStatus subscription (over SSE from this page): the current state at
#    once, then every change, until COMPLETED or FAILED. Run it right after ExecuteImport.
# 5. FailedRecords: the records that failed validation or execution.
#
# Other clients: send Authorization as below, and on GET requests the x-graphql-csrf header.

mutation InitiateImport($clientId: ID!) {
  initiateImport(clientId: $clientId, input: { name: "From GraphiQL" }) {
    accessToken
    status
  }
}

mutation StageImport($clientId: ID!, $accessToken: ID!) {
  stageImport(
    clientId: $clientId
    accessToken: $accessToken
    records: [
      { ProfileId: "p-1", Emails: [{ EmailAddress: "person1@example.com" }] }
      { Emails: [{ EmailAddress: "no-profile-id@example.com" }] }
    ]
  ) {
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
  }
}

mutation ExecuteImport($clientId: ID!, $accessToken: ID!) {
  executeImport(clientId: $clientId, accessToken: $accessToken) {
    status
  }
}

subscription WatchImport($clientId: ID!, $accessToken: ID!) {
  importStatus(clientId: $clientId, accessToken: $accessToken) {
    status
    progress
    processed
    exceptions
    notHonored
    pending
    isTerminal
  }
}

query FailedRecords($clientId: ID!, $accessToken: ID!) {
  importSummary(clientId: $clientId, accessToken: $accessToken) {
    status
    failedRecords(limit: 10) {
      totalResults
      records {
        phase
        profileId
        message
      }
    }
  }
}
`;

/** The simulator's demo clientId, and an access token to replace with initiateImport's. */
export const STARTER_VARIABLES = `{
  "clientId": "demo",
  "accessToken": "paste the accessToken InitiateImport returns"
}`;

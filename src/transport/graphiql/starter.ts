/**
 * What GraphiQL opens with on a first visit: the import workflow as the operations of
 * `operations/bulk-import.graphql`, one step each, and the variables they share.
 * `test/integration/graphiql.test.ts` validates the document against the schema and the variables
 * against every operation, so neither can drift.
 */
export interface GraphiQLStarter {
  /** The document of the query editor. */
  query: string;
  /** The JSON of the variables editor. */
  variables: string;
}

/**
 * Records in the starter's variables. Every StageImport run sends them all, so a few runs stage
 * tens of thousands: enough for the simulator (2,500 records a second) to take several seconds,
 * which WatchImport shows as live progress. Not more: GraphiQL keeps the variables in the
 * browser's storage once per history entry (up to 20), and at ~135 K characters for 5,000
 * records a full history stays under the origin's quota (5.2 M characters in Chromium).
 */
const RECORDS_PER_RUN = 5000;

/** What the user replaces with InitiateImport's accessToken: one word, so that a double-click selects it. */
export const ACCESS_TOKEN_PLACEHOLDER = 'PASTE_THE_ACCESS_TOKEN_HERE';

export function graphiqlStarter(maxRecordsPerStage: number): GraphiQLStarter {
  const records = Math.min(RECORDS_PER_RUN, maxRecordsPerStage);
  return { query: starterDocument(records), variables: starterVariables(records) };
}

// `$clientId` has a default so that InitiateImport runs with no variables at all: whatever the
// variables editor shows, the first step works. (The variables name it too: GraphiQL's check of
// the variables wants every non-null one there, default or not.)
function starterDocument(records: number): string {
  const count = records.toLocaleString('en-US');
  return `# The bulk-import workflow, one step at a time. Run each operation
# from the run button's menu (or put the cursor in it, Ctrl-Enter):
#
# 1. InitiateImport creates an import for the clientId "demo". Copy
#    the accessToken it returns into the Variables pane below:
#    double-click ${ACCESS_TOKEN_PLACEHOLDER} there and paste.
# 2. StageImport sends the ${count} records of the Variables pane
#    (a few of them invalid). Run it three times: the larger the
#    import, the longer WatchImport has progress to show.
# 3. ExecuteImport starts the processing.
# 4. WatchImport, the importStatus subscription (over SSE from this
#    page), shows the state at once, then every change, until
#    COMPLETED or FAILED. Run it right after ExecuteImport.
# 5. FailedRecords lists the records that failed validation or
#    execution.
#
# Other clients: send Authorization as in the Headers pane, and on
# GET requests the x-graphql-csrf header.

mutation InitiateImport($clientId: ID! = "demo") {
  initiateImport(clientId: $clientId, input: { name: "From GraphiQL" }) {
    accessToken
    status
  }
}

mutation StageImport($clientId: ID! = "demo", $accessToken: ID!, $records: [JSONObject!]!) {
  stageImport(clientId: $clientId, accessToken: $accessToken, records: $records) {
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
  }
}

mutation ExecuteImport($clientId: ID! = "demo", $accessToken: ID!) {
  executeImport(clientId: $clientId, accessToken: $accessToken) {
    status
  }
}

subscription WatchImport($clientId: ID! = "demo", $accessToken: ID!) {
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

query FailedRecords($clientId: ID! = "demo", $accessToken: ID!) {
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
}

/**
 * One record a line, so that the accessToken stays at the top of the editor. GraphiQL's variables
 * are JSON with comments; the comment answers the red underlines GraphiQL draws under the records
 * (its variables check knows no JSON schema for a custom scalar and expects a string or a number).
 */
function starterVariables(records: number): string {
  const lines = Array.from({ length: records }, (_, i) => `    ${JSON.stringify(starterRecord(i + 1))}`);
  return `{
  "clientId": "demo",
  "accessToken": "${ACCESS_TOKEN_PLACEHOLDER}",
  // GraphiQL underlines these records: it checks JSONObject
  // values as if they were strings. The gateway accepts them.
  "records": [
${lines.join(',\n')}
  ]
}`;
}

/** Mostly valid; one in 500 fails validation while staging and one in 500 fails on execution, so FailedRecords has both to list. */
function starterRecord(i: number): Record<string, unknown> {
  if (i % 500 === 0) return { ProfileId: `p-${i}`, Emails: [{ EmailAddress: 'not-an-address' }] };
  if (i % 500 === 250) return { ProfileId: `p-${i}`, Consents: [{ Name: 'Marketing', Prior: true }] };
  return { ProfileId: `p-${i}` };
}

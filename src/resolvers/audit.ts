import { GraphQLError } from 'graphql';

/** One audit line: who changed which import how, and how it ended. */
export interface AuditEntry {
  operation:
    | 'initiateImport'
    | 'stageImport'
    | 'executeImport'
    | 'watchImport'
    | 'createImportJob'
    | 'cancelImportJob'
    | 'createImportWebhook'
    | 'deleteImportWebhook'
    | 'sendTestImportWebhook';
  /** The webhook a webhook operation named. */
  webhookId?: string;
  /** Unknown for a cancelImportJob whose job was not found. */
  clientId: string | undefined;
  /** The import job a job operation named. */
  jobId?: string;
  /** Unknown for an initiateImport that failed. */
  accessToken: string | undefined;
  /** `OK`, or the error code the caller received. */
  outcome: string;
}

/** Longer user input is cut in audit lines: they are for people, and must stay small. */
const MAX_AUDITED_LENGTH = 200;

/**
 * Runs a mutation and writes its audit line whatever the outcome — refusals included, since
 * "who tried to execute what" matters most when it was refused. Never a token or credential.
 */
export async function audited<T extends { accessToken?: string | undefined; clientId?: string; id?: string }>(
  ctx: { audit: (entry: AuditEntry) => void },
  operation: AuditEntry['operation'],
  args: { clientId?: string; accessToken?: string; jobId?: string; webhookId?: string },
  run: () => Promise<T>,
): Promise<T> {
  const entry = {
    operation,
    clientId: args.clientId?.slice(0, MAX_AUDITED_LENGTH),
    ...(args.jobId !== undefined && { jobId: args.jobId.slice(0, MAX_AUDITED_LENGTH) }),
    ...(args.webhookId !== undefined && { webhookId: args.webhookId.slice(0, MAX_AUDITED_LENGTH) }),
  };
  try {
    const result = await run();
    const done = operation === 'createImportJob' || operation === 'cancelImportJob' ? { clientId: result.clientId, jobId: result.id } : {};
    ctx.audit({ ...entry, ...done, accessToken: result.accessToken, outcome: 'OK' });
    return result;
  } catch (error) {
    const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
    ctx.audit({ ...entry, accessToken: args.accessToken?.slice(0, MAX_AUDITED_LENGTH), outcome: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
    throw error;
  }
}

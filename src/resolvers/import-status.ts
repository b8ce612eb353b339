import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { BulkImport } from '../domain/bulk-import.js';
import type { StatusEvent } from '../status/status-event.js';
import type { ResolverContext } from './context.js';
import { storedFinalState } from './imports.js';
import { importRefArgs } from './validation.js';

/**
 * The importStatus subscription: the source stream comes from the status hub (one shared poller
 * per import and upstream credential); each event becomes one payload. Authorisation is checked
 * here, per subscriber, before the hub is asked for anything.
 */

export function importStatusEvents(args: { clientId: string; accessToken: string }, ctx: ResolverContext): AsyncIterableIterator<StatusEvent> {
  const ref = importRefArgs(args);
  return ctx.statusHub.subscribe(ref, ctx.access.credentialFor(ref.clientId, 'read'));
}

/**
 * An error event ends the subscription with that error: thrown here, it goes through the same
 * masking as any resolver error and reaches the client as a result with `errors` (its code
 * intact), followed by completion. An upstream 401 for an import whose final state is stored
 * ends it with that state instead (`isFinal: true`).
 */
export function importStatusPayload(
  event: StatusEvent,
  args: { clientId: string; accessToken: string },
  ctx: ResolverContext,
): BulkImport | Promise<BulkImport> {
  if (event.kind === 'state') return event.state;
  // An upstream 401 (the token forgotten): the stored final state, if there is one, else the error.
  const ref = importRefArgs(args);
  let credential: UpstreamCredential;
  try {
    credential = ctx.access.credentialFor(ref.clientId, 'read');
  } catch {
    throw event.error;
  }
  return storedFinalState(event.error, ref, credential, ctx);
}

import type { BulkImport } from '../domain/bulk-import.js';
import type { StatusEvent } from '../status/status-event.js';
import type { ResolverContext } from './context.js';
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
 * intact), followed by completion.
 */
export function importStatusPayload(event: StatusEvent): BulkImport {
  if (event.kind === 'error') throw event.error;
  return event.state;
}

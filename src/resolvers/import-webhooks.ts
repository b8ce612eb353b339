import type { Permission } from '../auth/caller.js';
import { ForwardedCredential } from '../credentials/credential.js';
import { badUserInput, GatewayError } from '../errors/gateway-error.js';
import type { WebhookEventType } from '../store/webhook-outbox.js';
import type { DeliveryRecord, WebhookRecord } from '../store/webhooks.js';
import { audited } from './audit.js';
import type { ResolverContext } from './context.js';
import { decodeCursor, type Page, pageOf, pageSizeArg } from './pages.js';
import { clientIdArg } from './validation.js';

/**
 * Webhooks (issue 28) as the API shows them. Access is the clientId's: listing needs `read`,
 * everything else `write`, both before the store is asked; in passthrough mode only the
 * credential that registered an endpoint sees it (others get NOT_FOUND, as for one that does not
 * exist). The signing secret is answered once, by createImportWebhook, and never again.
 */

const WEBHOOK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Who registers: the JWT subject, or the passthrough credential's fingerprint. */
function registrantOf(ctx: ResolverContext, clientId: string, permission: Permission) {
  const credential = ctx.access.credentialFor(clientId, permission);
  const passthrough = credential instanceof ForwardedCredential;
  return { actor: passthrough ? null : (ctx.access.subject ?? null), fingerprint: passthrough ? credential.id : null };
}

async function webhookFor(id: string, permission: Permission, ctx: ResolverContext): Promise<WebhookRecord> {
  const notFound = () => new GatewayError('NOT_FOUND', 'No webhook has this id.');
  if (!WEBHOOK_ID.test(id)) throw notFound();
  const webhook = await ctx.webhooks.store.find(id);
  if (!webhook) throw notFound();
  const { fingerprint } = registrantOf(ctx, webhook.clientId, permission);
  if (fingerprint !== null && webhook.credentialFingerprint !== fingerprint) throw notFound();
  return webhook;
}

export async function importWebhooks(args: { clientId: string }, ctx: ResolverContext): Promise<WebhookRecord[]> {
  const clientId = clientIdArg(args.clientId);
  const { fingerprint } = registrantOf(ctx, clientId, 'read');
  return ctx.webhooks.store.list(clientId, fingerprint);
}

export function createImportWebhook(
  args: { clientId: string; url: string; events?: readonly WebhookEventType[] | null },
  ctx: ResolverContext,
): Promise<{ webhook: WebhookRecord; signingSecret: string; clientId: string; id: string }> {
  return audited(ctx, 'createImportWebhook', { clientId: args.clientId }, async () => {
    const clientId = clientIdArg(args.clientId);
    if (args.url.length > 2048) throw badUserInput('url must be at most 2048 characters long.', 'url');
    const registrant = registrantOf(ctx, clientId, 'write');
    await ctx.registry.ensureAvailable();
    const created = await ctx.webhooks.create(clientId, args.url, args.events ?? ['IMPORT_COMPLETED', 'IMPORT_FAILED'], registrant);
    return { ...created, clientId, id: created.webhook.id };
  });
}

export function deleteImportWebhook(args: { id: string }, ctx: ResolverContext): Promise<boolean> {
  return audited(ctx, 'deleteImportWebhook', { webhookId: String(args.id) }, async () => {
    const webhook = await webhookFor(String(args.id), 'write', ctx);
    await ctx.webhooks.store.delete(webhook.id);
    return { clientId: webhook.clientId, id: webhook.id };
  }).then(() => true);
}

export function sendTestImportWebhook(args: { id: string }, ctx: ResolverContext): Promise<DeliveryRecord> {
  return audited(ctx, 'sendTestImportWebhook', { webhookId: String(args.id) }, async () => {
    const webhook = await webhookFor(String(args.id), 'write', ctx);
    return { clientId: webhook.clientId, id: webhook.id, delivery: await ctx.webhooks.sendTest(webhook) };
  }).then(({ delivery }) => delivery);
}

/** `deliveries`: newest first, paged by delivery id. */
export async function deliveries(
  webhook: WebhookRecord,
  args: { first?: number | null; after?: string | null },
  ctx: ResolverContext,
): Promise<Page<DeliveryRecord>> {
  const size = pageSizeArg(args.first, 20);
  const beforeId = decodeCursor('delivery', args.after);
  const rows = await ctx.webhooks.store.deliveries(webhook.id, { first: size + 1, beforeId });
  return pageOf(
    rows,
    size,
    'delivery',
    (row) => row.id,
    (row) => row,
  );
}

import * as hooks from '../resolvers/import-webhooks.js';
import type { Page } from '../resolvers/pages.js';
import { WEBHOOK_EVENT_TYPES } from '../store/webhook-outbox.js';
import type { DeliveryRecord, WebhookRecord } from '../store/webhooks.js';
import { builder } from './builder.js';
import { PageInfoRef } from './imports.js';

/** Webhooks (issue 28): the gateway tells endpoints when imports end. Resolvers live in `src/resolvers/import-webhooks.ts`. */

const EVENT_DESCRIPTIONS = {
  IMPORT_EXECUTED: 'The import was executed through the gateway (the first Execute).',
  IMPORT_COMPLETED: 'The gateway saw the import COMPLETED (its final state stored).',
  IMPORT_FAILED: 'The gateway saw the import FAILED (its final state stored).',
  IMPORT_JOB_FAILED: 'An import job failed (data.job.error says why).',
  IMPORT_JOB_CANCELED: 'An import job was cancelled before its Execute.',
} as const;

const ImportWebhookEventEnum = builder.enumType('ImportWebhookEvent', {
  description: 'What a webhook is told.',
  values: Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [type, { description: EVENT_DESCRIPTIONS[type] }])) as Record<
    keyof typeof EVENT_DESCRIPTIONS,
    { description: string }
  >,
});

const WebhookDeliveryStateEnum = builder.enumType('WebhookDeliveryState', {
  description: 'Where a delivery is.',
  values: {
    PENDING: { description: 'Not attempted yet.' },
    RETRYING: { description: 'Attempted without a 2xx; attempted again at nextAttemptAt.' },
    DELIVERED: { description: 'The endpoint answered 2xx. Final.' },
    FAILED: { description: 'No 2xx within the retry window, or the endpoint answered 410 Gone (it is then disabled). Final.' },
  } as const,
});

const WebhookDeliveryRef = builder.objectRef<DeliveryRecord>('WebhookDelivery').implement({
  description: 'One event to one endpoint.',
  fields: (t) => ({
    id: t.id({ description: 'The delivery.', resolve: (delivery) => String(delivery.id) }),
    eventId: t.exposeID('messageId', { description: 'The event: its `webhook-id` header, the same on every attempt.' }),
    event: t.expose('type', { type: ImportWebhookEventEnum, description: 'What it tells.' }),
    state: t.expose('state', { type: WebhookDeliveryStateEnum, description: 'Where it is.' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The last attempt's HTTP status (null: no answer)." }),
    lastAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was last attempted.',
      resolve: (delivery) => (delivery.lastAttemptAt === null ? null : new Date(delivery.lastAttemptAt)),
    }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is attempted next (null once DELIVERED or FAILED).',
      resolve: (delivery) => (delivery.nextAttemptAt === null ? null : new Date(delivery.nextAttemptAt)),
    }),
  }),
});

const WebhookDeliveryEdgeRef = builder.objectRef<Page<DeliveryRecord>['edges'][number]>('WebhookDeliveryEdge').implement({
  description: 'A delivery and its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` for older deliveries.' }),
    node: t.expose('node', { type: WebhookDeliveryRef, description: 'The delivery.' }),
  }),
});

const WebhookDeliveryConnectionRef = builder.objectRef<Page<DeliveryRecord>>('WebhookDeliveryConnection').implement({
  description: "A page of an endpoint's deliveries, newest first.",
  fields: (t) => ({
    edges: t.expose('edges', { type: [WebhookDeliveryEdgeRef], description: 'The deliveries of this page.' }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef, description: 'Whether more follow.' }),
  }),
});

const ImportWebhookRef = builder.objectRef<WebhookRecord>('ImportWebhook').implement({
  description: "An endpoint told of one clientId's imports, signed the Standard Webhooks way.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The endpoint.' }),
    clientId: t.exposeID('clientId', { description: 'The MyPreferences account whose imports it is told of.' }),
    url: t.exposeString('url', { description: 'Where deliveries are POSTed.' }),
    events: t.expose('events', { type: [ImportWebhookEventEnum], description: 'What it is told.' }),
    enabled: t.exposeBoolean('enabled', { description: 'False once it answered 410 Gone: nothing more is sent.' }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: "The caller's subject (jwt mode) that registered it." }),
    deliveries: t.field({
      type: WebhookDeliveryConnectionRef,
      description: 'Its deliveries, newest first.',
      args: {
        first: t.arg.int({ defaultValue: 20, description: 'Page size, 1 to 100.' }),
        after: t.arg.string({ description: 'A cursor of this connection: the page starts after it.' }),
      },
      resolve: (webhook, args, ctx) => hooks.deliveries(webhook, args, ctx),
    }),
  }),
});

const ImportWebhookCreatedRef = builder.objectRef<{ webhook: WebhookRecord; signingSecret: string }>('ImportWebhookCreated').implement({
  description: 'A registered endpoint and its signing secret, shown this once.',
  fields: (t) => ({
    webhook: t.expose('webhook', { type: ImportWebhookRef, description: 'The endpoint.' }),
    signingSecret: t.exposeString('signingSecret', {
      description: 'The key of `webhook-signature` (`whsec_…`, as the standardwebhooks libraries take it). Shown once: keep it; it cannot be read again.',
    }),
  }),
});

builder.queryField('importWebhooks', (t) =>
  t.field({
    type: [ImportWebhookRef],
    description: "A clientId's webhook endpoints (read scope), oldest first.",
    args: { clientId: t.arg.id({ required: true, description: 'The MyPreferences account.' }) },
    resolve: (_root, args, ctx) => hooks.importWebhooks({ clientId: String(args.clientId) }, ctx),
  }),
);

builder.mutationField('createImportWebhook', (t) =>
  t.field({
    type: ImportWebhookCreatedRef,
    description:
      "Registers an endpoint for a clientId's import events (write scope). The URL must be https and resolve only to public addresses (checked now and at every delivery), unless its host is in WEBHOOK_ALLOWED_HOSTS.",
    args: {
      clientId: t.arg.id({ required: true, description: 'The MyPreferences account.' }),
      url: t.arg.string({ required: true, description: 'Where deliveries are POSTed.' }),
      events: t.arg({ type: [ImportWebhookEventEnum], defaultValue: ['IMPORT_COMPLETED', 'IMPORT_FAILED'], description: 'What it is told.' }),
    },
    resolve: (_root, args, ctx) => hooks.createImportWebhook({ ...args, clientId: String(args.clientId) }, ctx),
  }),
);

builder.mutationField('deleteImportWebhook', (t) =>
  t.boolean({
    description: 'Deletes an endpoint with its deliveries (write scope).',
    args: { id: t.arg.id({ required: true, description: 'The endpoint.' }) },
    resolve: (_root, args, ctx) => hooks.deleteImportWebhook({ id: String(args.id) }, ctx),
  }),
);

builder.mutationField('sendTestImportWebhook', (t) =>
  t.field({
    type: WebhookDeliveryRef,
    description: 'Sends an endpoint a test event now (`"test": true` in the body), signed like any other, and answers how its first attempt ended.',
    args: { id: t.arg.id({ required: true, description: 'The endpoint.' }) },
    resolve: (_root, args, ctx) => hooks.sendTestImportWebhook({ id: String(args.id) }, ctx),
  }),
);

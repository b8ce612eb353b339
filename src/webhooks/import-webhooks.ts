import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { WebhooksConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import type { WebhookEventType, WebhookOutbox } from '../store/webhook-outbox.js';
import type { DeliveryRecord, WebhookRecord, WebhookStore } from '../store/webhooks.js';
import { type DeliveryOutcome, DeliveryWorker } from './delivery-worker.js';
import { checkWebhookUrl, createWebhookDispatcher, type ResolveHost, WebhookDestinationError } from './destination.js';
import { newSigningSecret, SecretSeal } from './signing-secrets.js';

export interface ImportWebhooksOptions {
  store: WebhookStore;
  outbox: WebhookOutbox;
  config: WebhooksConfig;
  /** The embedded store's folder (its own sealing key lives there); undefined with PostgreSQL. */
  dataDir: string | undefined;
  logger: Logger;
  /** Tests: another resolver, another CA. @default the system's */
  resolve?: ResolveHost;
  observe?: (outcome: DeliveryOutcome, seconds: number) => void;
  /** Tests: a dispatcher of their own. @default one with the destination checks, closed by `close()` */
  dispatcher?: Dispatcher;
}

/** Who registers an endpoint: the JWT subject, or the passthrough credential's fingerprint. */
export interface Registrant {
  actor: string | null;
  fingerprint: string | null;
}

/**
 * Webhooks (issue 28): endpoints per clientId, their signing secrets sealed in the store, and the
 * worker that delivers what the outbox holds. This is what the resolvers act through.
 */
export class ImportWebhooks {
  readonly store: WebhookStore;
  readonly worker: DeliveryWorker;
  readonly #options: ImportWebhooksOptions;
  readonly #dispatcher: Dispatcher;
  #seal: Promise<SecretSeal | undefined> | undefined;

  constructor(options: ImportWebhooksOptions) {
    this.#options = options;
    this.store = options.store;
    this.#dispatcher =
      options.dispatcher ?? createWebhookDispatcher(options.config, { connectTimeoutMs: 5_000, ...(options.resolve && { resolve: options.resolve }) });
    this.worker = new DeliveryWorker({
      store: options.store,
      outbox: options.outbox,
      seal: () => this.#sealer(),
      dispatcher: this.#dispatcher,
      logger: options.logger,
      maxInFlight: options.config.maxInFlight,
      firstRetryMs: options.config.firstRetryMs,
      giveUpAfterMs: options.config.giveUpAfterMs,
      scanMs: options.config.scanMs,
      timeoutMs: options.config.timeoutMs,
      ...(options.observe && { observe: options.observe }),
    });
  }

  /** The key secrets are sealed with: `WEBHOOK_SECRET_KEY`, else the embedded store's own key file; none with PostgreSQL and no key. */
  #sealer(): Promise<SecretSeal | undefined> {
    this.#seal ??= (async () => {
      const { secretKey } = this.#options.config;
      if (secretKey !== undefined) return SecretSeal.fromPassphrase(secretKey);
      return this.#options.dataDir === undefined ? undefined : SecretSeal.fromDataDir(this.#options.dataDir);
    })();
    return this.#seal;
  }

  /** Registers an endpoint after checking its URL (https, public addresses, unless allow-listed); the secret is returned once. */
  async create(
    clientId: string,
    url: string,
    events: readonly WebhookEventType[],
    registrant: Registrant,
  ): Promise<{ webhook: WebhookRecord; signingSecret: string }> {
    if (events.length === 0) throw new GatewayError('BAD_USER_INPUT', 'events must name at least one event.', { argument: 'events' });
    const seal = await this.#sealer();
    if (!seal) {
      throw new GatewayError('WEBHOOKS_UNAVAILABLE', 'This gateway has no WEBHOOK_SECRET_KEY to keep signing secrets with, so it cannot register webhooks.');
    }
    if ((await this.store.count(clientId)) >= this.#options.config.maxEndpointsPerClient) {
      throw new GatewayError('BAD_USER_INPUT', `A clientId may register at most ${this.#options.config.maxEndpointsPerClient} webhooks.`, {
        argument: 'clientId',
        reason: 'TOO_MANY_WEBHOOKS',
      });
    }
    let checked: URL;
    try {
      checked = await checkWebhookUrl(url, this.#options.config, this.#options.resolve);
    } catch (error) {
      if (!(error instanceof WebhookDestinationError)) throw error;
      throw new GatewayError('BAD_USER_INPUT', error.message, { argument: 'url', reason: error.reason });
    }
    const signingSecret = newSigningSecret();
    const webhook = await this.store.create(
      {
        id: randomUUID(),
        clientId,
        url: checked.href,
        events: [...new Set(events)],
        createdBy: registrant.actor,
        credentialFingerprint: registrant.fingerprint,
      },
      seal.seal(signingSecret),
    );
    return { webhook, signingSecret };
  }

  /** Sends a test event to an endpoint now (the same signing, the same delivery row), and answers the delivery as it ended. */
  async sendTest(webhook: WebhookRecord): Promise<DeliveryRecord> {
    const messageId = `msg_${randomUUID().replaceAll('-', '')}`;
    const payload = JSON.stringify({
      type: 'IMPORT_COMPLETED',
      timestamp: new Date().toISOString(),
      test: true,
      data: { clientId: webhook.clientId, accessToken: '0', name: 'A test event from sendTestImportWebhook', status: 'COMPLETED', isTerminal: true },
    });
    const id = await this.store.createTestDelivery(webhook, payload, messageId);
    await this.worker.attemptNow(id);
    return (await this.store.delivery(id))!;
  }

  start(): void {
    this.worker.start();
  }

  async close(): Promise<void> {
    await this.worker.close();
    if (!this.#options.dispatcher) await this.#dispatcher.close();
  }
}

// Delivers one event to one endpoint: signed attempts with backoff until it is accepted, the
// endpoint is gone (410), or retry.maxAge has passed since the first attempt. Both the running
// endpoint and `sluice dlq replay` send through this one path.
import type { WebhookConfig } from '../../config/webhooks.js';
import { sleep } from '../../util/sleep.js';
import type { DeliveryLogWriter } from './delivery-log.js';
import { postOnce, type AttemptResult } from './webhook-attempt.js';
import { countAttempt } from './webhook-metrics.js';
import { backoffDelay } from './webhook-retry.js';
import { cloudEventsContentType, WebhookSigner } from './webhook-signer.js';
import { webhookTransport, type WebhookTransport } from './webhook-transport.js';

/** One event to send: its id (the webhook-id) and the exact CloudEvent bytes as stored. */
export interface Outgoing {
  readonly id: string;
  readonly body: string;
  readonly resource: string;
  readonly type: string;
  readonly key: unknown;
}

export type SendOutcome =
  | { readonly kind: 'delivered'; readonly attempts: number }
  /** Retried until retry.maxAge: the event goes to the dead-letter subject. */
  | {
      readonly kind: 'expired';
      readonly attempts: number;
      readonly firstAttemptAt: Date;
      readonly last: AttemptResult;
    }
  /** 410: the endpoint is paused; the event stays undelivered. */
  | { readonly kind: 'gone'; readonly attempts: number; readonly last: AttemptResult }
  /** Stopped (shutdown or pause) before an answer; the event stays undelivered. */
  | { readonly kind: 'aborted' };

export interface SenderOptions {
  readonly log: DeliveryLogWriter;
  /** Marks attempts in the delivery log as sent by `sluice dlq replay`. */
  readonly replay?: boolean;
  readonly random?: () => number;
}

export class WebhookSender {
  readonly #signer: WebhookSigner;
  readonly #headers: Record<string, string>;
  /** Built at the first attempt (undici and the PEM files only then); again after it failed. */
  #transport: Promise<WebhookTransport> | null = null;

  constructor(
    readonly cfg: WebhookConfig,
    private readonly opts: SenderOptions,
  ) {
    this.#signer = new WebhookSigner(cfg.secret);
    this.#headers = { ...cfg.headers, 'content-type': cloudEventsContentType };
  }

  #getTransport = (): Promise<WebhookTransport> => {
    const t = (this.#transport ??= webhookTransport(this.cfg.tls));
    t.catch(() => {
      if (this.#transport === t) this.#transport = null;
    });
    return t;
  };

  /** Closes the connections of the endpoint's TLS agent (if any). */
  async close(): Promise<void> {
    const t = this.#transport;
    this.#transport = null;
    await t?.then((x) => x.close()).catch(() => {});
  }

  /** The endpoint's origin, safe to log (no path, query or credentials). */
  get origin(): string {
    return new URL(this.cfg.url).origin;
  }

  /**
   * `mayAttempt` runs before every attempt (the running endpoint checks its lease there): false
   * stops the send as aborted, so an instance that lost its endpoint sends nothing more.
   */
  async send(ev: Outgoing, signal: AbortSignal, mayAttempt?: () => Promise<boolean>): Promise<SendOutcome> {
    const { retry } = this.cfg;
    let firstAttemptAt: Date | null = null;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return { kind: 'aborted' };
      if (mayAttempt && !(await mayAttempt())) return { kind: 'aborted' };
      const at = new Date();
      firstAttemptAt ??= at;
      const result = await postOnce({
        url: this.cfg.url,
        headers: { ...this.#headers, ...this.#signer.headers(ev.id, ev.body, at) },
        body: ev.body,
        timeoutMs: this.cfg.timeout,
        signal,
        transport: this.#getTransport,
      });
      if (signal.aborted && result.kind !== 'ok') return { kind: 'aborted' };
      countAttempt(this.cfg.name, result.statusClass, result.latencyMs);
      await this.opts.log.record({
        webhook: this.cfg.name,
        eventId: ev.id,
        resource: ev.resource,
        type: ev.type,
        key: ev.key,
        attempt,
        status: result.status,
        statusClass: result.statusClass,
        latencyMs: result.latencyMs,
        error: result.error,
        outcome: result.kind === 'ok' ? 'delivered' : result.kind === 'gone' ? 'gone' : 'failed',
        at: at.toISOString(),
        ...(this.opts.replay ? { replay: true } : {}),
      });
      switch (result.kind) {
        case 'ok':
          return { kind: 'delivered', attempts: attempt };
        case 'gone':
          return { kind: 'gone', attempts: attempt, last: result };
        case 'failed':
          break;
        default: {
          const never: never = result.kind;
          throw new Error(`unknown attempt result ${String(never)}`);
        }
      }
      // The endpoint's Retry-After wins over our backoff; either way, not past retry.maxAge.
      const delay =
        result.retryAfterMs ?? backoffDelay(attempt, retry.initialDelay, retry.maxDelay, this.opts.random);
      if (Date.now() + delay - firstAttemptAt.getTime() > retry.maxAge)
        return { kind: 'expired', attempts: attempt, firstAttemptAt, last: result };
      await sleep(delay, signal);
    }
  }
}

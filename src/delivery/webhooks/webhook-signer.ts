// Standard Webhooks signing (https://www.standardwebhooks.com): the reference library signs, so
// what a receiver verifies with it is what we sent.
import { Webhook } from 'standardwebhooks';

export const cloudEventsContentType = 'application/cloudevents+json';

export class WebhookSigner {
  readonly #webhook: Webhook;

  /** `secret` is `whsec_<base64>`; it is kept inside the signer and never printed. */
  constructor(secret: string) {
    this.#webhook = new Webhook(secret);
  }

  /**
   * The headers of one attempt: `webhook-id` (the event id, the same on every retry),
   * `webhook-timestamp` (this attempt, in seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256
   * of id.timestamp.body>`).
   */
  headers(id: string, body: string, at: Date): Record<string, string> {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.#webhook.sign(id, at, body),
    };
  }

  toJSON(): string {
    return '[WebhookSigner]';
  }
}

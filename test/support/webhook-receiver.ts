// A real HTTP webhook receiver on loopback (node:http, or node:https with `tls`) whose answers a
// test scripts: it can be down (not listening), answer any status, be slow, and it verifies every
// signature with the Standard Webhooks reference library.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedAttempt {
  readonly webhookId: string;
  readonly timestamp: string;
  readonly signatureValid: boolean;
  readonly contentType: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The CloudEvent id in the body. */
  readonly eventId: string | undefined;
  readonly path: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Answer this much later (a timeout on the sender's side when longer than its timeout). */
  readonly delayMs?: number;
}

/** HTTPS: the server's certificate and key (PEM text); with `ca`, a client certificate from it is required. */
export interface ReceiverTls {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export type ReceiverHandler = (attempt: ReceivedAttempt, n: number) => Reply;

export class WebhookReceiver {
  readonly attempts: ReceivedAttempt[] = [];
  /** Events answered with 2xx, deduplicated by webhook-id, in the order first accepted. */
  readonly accepted: { id: string; event: Record<string, unknown> }[] = [];
  readonly #seen = new Set<string>();
  #server: Server | null = null;
  #port = 0;

  private constructor(
    private readonly secret: string,
    public handler: ReceiverHandler,
    private readonly tls?: ReceiverTls,
  ) {}

  static async start(
    secret: string,
    handler: ReceiverHandler = () => ({ status: 204 }),
    tls?: ReceiverTls,
  ): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(secret, handler, tls);
    await r.listen();
    return r;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.#port}/hook`;
  }

  /** Starts listening (again, on the same port after `down()`). */
  async listen(): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const { tls } = this;
    const server: Server = tls
      ? createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handle,
        )
      : createServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening: connections are refused until `listen()`. */
  async down(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  async close(): Promise<void> {
    await this.down();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      let signatureValid = false;
      try {
        new Webhook(this.secret).verify(body, {
          'webhook-id': h('webhook-id') ?? '',
          'webhook-timestamp': h('webhook-timestamp') ?? '',
          'webhook-signature': h('webhook-signature') ?? '',
        });
        signatureValid = true;
      } catch {
        signatureValid = false;
      }
      let eventId: string | undefined;
      try {
        eventId = (JSON.parse(body) as { id?: string }).id;
      } catch {
        eventId = undefined;
      }
      const attempt: ReceivedAttempt = {
        webhookId: h('webhook-id') ?? '',
        timestamp: h('webhook-timestamp') ?? '',
        signatureValid,
        contentType: h('content-type'),
        headers: req.headers,
        body,
        eventId,
        path: req.url ?? '',
      };
      this.attempts.push(attempt);
      const reply = this.handler(attempt, this.attempts.length);
      const send = () => {
        if (res.destroyed) return;
        if (
          reply.status >= 200 &&
          reply.status < 300 &&
          signatureValid &&
          !this.#seen.has(attempt.webhookId)
        ) {
          this.#seen.add(attempt.webhookId);
          this.accepted.push({ id: attempt.webhookId, event: JSON.parse(body) as Record<string, unknown> });
        }
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  }
}

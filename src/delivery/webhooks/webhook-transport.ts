// How an attempt reaches the endpoint: the global fetch, or (when `webhooks[].tls` is set)
// undici's own fetch through an Agent that trusts the configured CA and presents the client
// certificate. The server certificate is always verified (chain and host name).
import type { WebhookConfig } from '../../config/webhooks.js';
import { readPem } from '../../sql/sql-tls.js';

/** The part of a fetch Response an attempt reads. */
export interface AttemptResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface AttemptInit {
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly redirect: 'manual';
  readonly signal: AbortSignal;
}

export interface WebhookTransport {
  fetch(url: string, init: AttemptInit): Promise<AttemptResponse>;
  close(): Promise<void>;
}

/** The global fetch: the system CAs (and NODE_EXTRA_CA_CERTS), no client certificate. */
export const globalTransport: WebhookTransport = {
  fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers } }),
  close: async () => {},
};

/** A transport for the webhook's `tls`, or the global one without it (undici loaded only then). */
export async function webhookTransport(tls: WebhookConfig['tls']): Promise<WebhookTransport> {
  if (!tls) return globalTransport;
  // Read now: a missing file is a config error at start, not a failed attempt per event.
  const connect = {
    ...(tls.ca ? { ca: readPem(tls.ca, 'ca') } : {}),
    ...(tls.cert ? { cert: readPem(tls.cert, 'cert') } : {}),
    ...(tls.key ? { key: readPem(tls.key, 'key') } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: true,
  };
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = new Agent({ connect });
  return {
    fetch: (url, init) => undiciFetch(url, { ...init, headers: { ...init.headers }, dispatcher }),
    close: () => dispatcher.close(),
  };
}

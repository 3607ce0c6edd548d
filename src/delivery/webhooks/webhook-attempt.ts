// One HTTP attempt: POST the signed body to the configured URL, redirects not followed, bounded
// by a timeout, and the response read only as far as a short excerpt.
import { BridgeError } from '../../core/errors.js';
import { certificateError } from '../../sql/sql-tls.js';
import { parseRetryAfter } from './webhook-retry.js';
import { globalTransport, type WebhookTransport } from './webhook-transport.js';

/** How an attempt ended, as metrics count it. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'network';

export interface AttemptResult {
  /** ok: 2xx; gone: 410 (the endpoint is paused); failed: anything else (retried). */
  readonly kind: 'ok' | 'gone' | 'failed';
  /** The HTTP status, or null when no response came. */
  readonly status: number | null;
  readonly statusClass: StatusClass;
  readonly latencyMs: number;
  /** Why it failed, in words (never a header value). */
  readonly error: string | null;
  /** The first bytes of the response body (non-2xx only). */
  readonly excerpt: string | null;
  /** Retry-After, in milliseconds from now, when the response carried one. */
  readonly retryAfterMs: number | null;
}

export interface AttemptRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** How the request is sent (the `tls` of the webhook); default: the global fetch. */
  readonly transport?: () => Promise<WebhookTransport>;
}

/** How much of a failed response's body is kept for the dead letter and the log. */
export const excerptBytes = 1024;

/** A 2xx body is read (and dropped) up to this size to keep the connection; past it, cut off. */
const drainBytes = 64 * 1024;

async function readExcerpt(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Stop reading a long body; the rest is not needed (this may close the connection).
    if (size >= limit) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function classOf(status: number): StatusClass {
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}

function networkError(err: unknown, url: string): string {
  // A certificate failure says so in words (the endpoint may fix its certificate: retried).
  const cert = certificateError((err as { cause?: unknown }).cause ?? err, new URL(url).origin);
  if (cert) return cert.message;
  if (err instanceof BridgeError) return err.message;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // undici's "other side closed": over TLS 1.3 also how a refused client certificate shows.
  if (cause?.code === 'UND_ERR_SOCKET')
    return `the endpoint closed the connection (${cause.message ?? 'UND_ERR_SOCKET'})${
      url.startsWith('https:') ? '; if it requires a client certificate, set tls.cert and tls.key' : ''
    }`;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export async function postOnce(req: AttemptRequest): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  const start = performance.now();
  const latency = () => Math.round(performance.now() - start);
  try {
    const transport = req.transport ? await req.transport() : globalTransport;
    const res = await transport.fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      // A 3xx is a failure: only the configured URL is ever contacted.
      redirect: 'manual',
      signal,
    });
    const ok = res.status >= 200 && res.status < 300;
    // Read (a bounded part of) the body either way, so that the connection can be reused.
    const excerpt = await readExcerpt(res.body, ok ? drainBytes : excerptBytes);
    const statusClass = classOf(res.status);
    const kind = ok ? 'ok' : res.status === 410 ? 'gone' : 'failed';
    const location = res.headers.get('location');
    return {
      kind,
      status: res.status,
      statusClass,
      latencyMs: latency(),
      error: ok
        ? null
        : statusClass === '3xx'
          ? `redirect not followed${location ? ` (to ${new URL(location, req.url).origin})` : ''}`
          : `HTTP ${res.status}`,
      excerpt: ok ? null : excerpt,
      retryAfterMs: ok ? null : parseRetryAfter(res.headers.get('retry-after')),
    };
  } catch (err) {
    const timedOut = timeout.aborted && !req.signal.aborted;
    return {
      kind: 'failed',
      status: null,
      statusClass: timedOut ? 'timeout' : 'network',
      latencyMs: latency(),
      error: timedOut ? `no response within ${req.timeoutMs} ms` : networkError(err, req.url),
      excerpt: null,
      retryAfterMs: null,
    };
  }
}

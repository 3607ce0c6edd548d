// The `webhooks` section: resource events POSTed to HTTPS endpoints (docs/webhooks.md), and the
// delivery log that records every attempt.
import { z } from 'zod';
import { ResourceMapping } from '../core/mapping.js';
import { QuerySyntaxError } from '../resources/filter-grammar.js';
import { compileRowPredicate, parseFilterQuery } from '../resources/filter-match.js';
import { resourceEventTypes } from '../delivery/resource-event.js';
import type { ApiConfig } from './api.js';
import { pemOrFile } from './db-tls.js';
import { byteSize, duration } from './duration.js';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a URL's host is this machine (then plain http:// is allowed). */
export function isLoopbackUrl(url: URL): boolean {
  return loopbackHosts.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/** TLS to an https:// endpoint: a private CA, a client certificate; the server is always verified. */
export const webhookTlsSchema = z
  .strictObject({
    ca: pemOrFile
      .optional()
      .describe("CA certificate(s) the endpoint's certificate must chain to (PEM; replaces the system CAs)"),
    cert: pemOrFile.optional().describe('Client certificate for mutual TLS (PEM)'),
    key: pemOrFile.optional().describe('Private key of the client certificate (PEM; never logged)'),
    servername: z
      .string()
      .min(1)
      .optional()
      .describe("Name the endpoint's certificate must carry, when it differs from the URL's host"),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'set cert and key together (mutual TLS), or neither',
  })
  .describe('TLS to the endpoint (verify-full always); absent: the system CAs, no client certificate');

const secretPattern = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export const webhookSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected one token: letters, digits, _ or -')
      .describe('Unique; names the consumer, the dead-letter subject and the delivery log'),
    url: z
      .url({ protocol: /^https?$/, error: 'expected an http(s):// URL' })
      .describe('The endpoint; the only address contacted'),
    allowInsecure: z.boolean().default(false).describe('Allow http:// to a host that is not loopback'),
    resources: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Resources whose events are sent (default: every resource)'),
    types: z
      .array(z.enum(resourceEventTypes))
      .min(1)
      .default(['created', 'updated', 'deleted'])
      .describe('Event types sent; snapshot and truncated are opt-in'),
    filter: z
      .string()
      .min(1)
      .optional()
      .describe(
        'List filter grammar on API fields (`department=eq.ENG&salary=gte.1000`), on after (before for deletes)',
      ),
    secret: z
      .string()
      .regex(secretPattern, 'expected whsec_<base64> (Standard Webhooks secret)')
      .describe('Signing secret; never logged'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'), z.string())
      .default({})
      .describe('Extra request headers (values are never logged)'),
    tls: webhookTlsSchema.optional(),
    timeout: duration('10s').describe('Per-attempt timeout'),
    concurrency: z.number().int().min(1).max(1024).default(16).describe('Keys delivered in parallel'),
    maxPending: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('Events held unacknowledged (max_ack_pending); default concurrency × 64'),
    from: z
      .enum(['start', 'new'])
      .default('start')
      .describe('Where a new endpoint starts: every event the stream retains, or only new ones'),
    retry: z
      .strictObject({
        maxAge: duration('24h').describe(
          'Retry an event this long after its first attempt, then dead-letter it',
        ),
        initialDelay: duration('1s').describe('Backoff before the second attempt (doubles, full jitter)'),
        maxDelay: duration('5m').describe(
          'Longest backoff between two attempts (Retry-After may ask for more)',
        ),
      })
      .prefault({}),
  })
  .superRefine((w, ctx) => {
    const url = new URL(w.url);
    if (url.protocol === 'http:' && !w.allowInsecure && !isLoopbackUrl(url))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'expected https:// (http:// only to a loopback host, or with allowInsecure: true)',
      });
    if (w.tls && url.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls needs an https:// url' });
    if (url.username || url.password)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'put credentials in headers, not in the URL' });
    if (w.retry.initialDelay > w.retry.maxDelay)
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'initialDelay'],
        message: 'must not exceed retry.maxDelay',
      });
  });
export type WebhookConfig = z.output<typeof webhookSchema>;

export const deliveryLogSchema = z
  .strictObject({
    maxAge: duration('7d').describe('Attempts older than this are dropped from the delivery log'),
    maxBytes: byteSize('256MB').describe('The delivery log never grows past this (oldest dropped first)'),
  })
  .prefault({})
  .describe('The webhook delivery log: a JetStream stream of its own');

interface ReferenceContext {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** The resources a webhook listens to: its list, or every resource. */
export function webhookResources(w: Pick<WebhookConfig, 'resources'>, api: ApiConfig | undefined): string[] {
  return w.resources ? [...w.resources] : Object.keys(api?.resources ?? {});
}

/**
 * Cross-field checks: names unique, resources exist, and the filter compiles against every
 * resource the webhook listens to (unknown fields or values a codec refuses are config errors).
 */
export function checkWebhookReferences(
  cfg: { webhooks: readonly WebhookConfig[]; api?: ApiConfig | undefined },
  ctx: ReferenceContext,
): void {
  const seen = new Map<string, number>();
  cfg.webhooks.forEach((w, i) => {
    const at = ['webhooks', i];
    const first = seen.get(w.name);
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'name'],
        message: `duplicate webhook name "${w.name}" (also webhooks[${first}])`,
      });
    else seen.set(w.name, i);
    const resources = cfg.api?.resources ?? {};
    if (Object.keys(resources).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: at,
        message: 'webhooks deliver resource events: define api.resources',
      });
      return;
    }
    w.resources?.forEach((r, j) => {
      if (!Object.hasOwn(resources, r))
        ctx.addIssue({ code: 'custom', path: [...at, 'resources', j], message: `no resource named "${r}"` });
    });
    if (w.filter === undefined) return;
    let filters;
    try {
      filters = parseFilterQuery(w.filter);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [...at, 'filter'], message: (err as Error).message });
      return;
    }
    for (const r of webhookResources(w, cfg.api)) {
      const spec = resources[r];
      if (!spec) continue;
      try {
        const mapping = new ResourceMapping(r, spec);
        compileRowPredicate(filters, (n) => mapping.field(n));
      } catch (err) {
        if (!(err instanceof QuerySyntaxError) && !(err instanceof RangeError)) throw err;
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'filter'],
          message: `on resource "${r}": ${err.message}`,
        });
      }
    }
  });
}

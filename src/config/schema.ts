// The one zod schema of the config file. Every field has a default and a description.
import { z } from 'zod';
import { pollingSourceSchema } from '../../adapters/polling/config.js';
import { mysqlSourceSchema } from '../../adapters/mysql/config.js';
import { oracleSourceSchema } from '../../adapters/oracle/config.js';
import { mssqlSourceSchema } from '../../adapters/mssql/config.js';
import { postgresSourceSchema } from '../../adapters/postgres/config.js';
import { triggersSourceSchema } from '../../adapters/triggers/config.js';
import { apiSchema, checkApiReferences } from './api.js';
import { byteSize, duration } from './duration.js';
import { checkWebhookReferences, deliveryLogSchema, webhookSchema } from './webhooks.js';
import { reservedSubjectTokens } from '../delivery/resource-event.js';
import { checkSinkReferences, sinkSchema } from './sinks.js';
import { tableListed } from './outbox.js';

const token = /^[A-Za-z0-9_-]+$/;

const natsTlsSchema = z
  .strictObject({
    ca: z.string().optional().describe('CA file the server certificate must chain to (default: system CAs)'),
    cert: z.string().optional().describe('Client certificate file (mutual TLS, `tls { verify: true }`)'),
    key: z.string().optional().describe('Private key file of the client certificate'),
    handshakeFirst: z
      .boolean()
      .default(false)
      .describe('TLS before the INFO line (server `handshake_first: true`)'),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'set cert and key together (mutual TLS), or neither',
  })
  .describe('TLS to NATS; the server certificate is always verified (chain and host name)');

export const natsSchema = z
  .strictObject({
    servers: z
      .union([z.string(), z.array(z.string()).min(1)])
      .default('nats://127.0.0.1:4222')
      .transform((v) => (Array.isArray(v) ? v : v.split(',').map((s) => s.trim())))
      .pipe(
        z.array(z.string().regex(/^(nats|tls|wss?):\/\/[^\s]+$|^[^\s/:]+:\d+$/, 'expected nats://host:port')),
      ),
    stream: z.string().regex(token, 'expected letters, digits, _ or -').default('SLUICE'),
    subjectPrefix: z
      .string()
      .regex(token, 'expected one subject token (letters, digits, _ or -)')
      .default('sluice'),
    kvBucket: z
      .string()
      .regex(token)
      .default('sluice_offsets')
      .describe('KV bucket for committed offsets and leases'),
    user: z.string().optional().describe('User name (with pass)'),
    pass: z.string().optional().describe('Password (with user); never logged'),
    token: z.string().optional().describe('Authentication token; never logged'),
    creds: z
      .string()
      .optional()
      .describe('A .creds file (user JWT + nkey seed), as nsc and managed NATS issue them'),
    nkey: z
      .string()
      .optional()
      .describe('An nkey seed (SU...): a file path, or the seed itself (e.g. ${file:/run/secrets/nkey})'),
    tls: natsTlsSchema.optional(),
    streamConfig: z
      .strictObject({
        replicas: z.number().int().min(1).max(5).default(1),
        storage: z.enum(['file', 'memory']).default('file'),
        maxBytes: byteSize(-1).describe('Stream size limit; when reached, publishing waits and retries'),
        maxAge: duration('0').describe('0 keeps events forever'),
        duplicateWindow: duration('10m').describe(
          'How long a Nats-Msg-Id is remembered for dedup; longer than any restart',
        ),
      })
      .prefault({}),
    publish: z
      .strictObject({
        window: z
          .number()
          .int()
          .min(1)
          .max(65536)
          .default(2048)
          .describe('Publishes in flight before waiting for acks'),
        timeout: duration('10s').describe('How long to wait for one PubAck before retrying'),
      })
      .prefault({}),
    commitInterval: duration('200ms').describe(
      'Offsets are committed at most this often (and on every idle moment)',
    ),
    leaseTtl: duration('10s').describe(
      'How long a crashed instance keeps a source before a standby (or its restart) takes over',
    ),
  })
  .superRefine((n, ctx) => {
    const methods = [
      n.creds !== undefined && 'creds',
      n.nkey !== undefined && 'nkey',
      (n.user !== undefined || n.pass !== undefined) && 'user/pass',
      n.token !== undefined && 'token',
    ].filter((m) => m !== false);
    if (methods.length > 1)
      ctx.addIssue({
        code: 'custom',
        message: `choose one authentication method, not ${methods.join(' and ')}`,
      });
    if ((n.user === undefined) !== (n.pass === undefined))
      ctx.addIssue({ code: 'custom', message: 'set user and pass together' });
  })
  .prefault({});

export const sourceSchema = z.discriminatedUnion('kind', [
  postgresSourceSchema,
  mysqlSourceSchema,
  oracleSourceSchema,
  mssqlSourceSchema,
  pollingSourceSchema,
  triggersSourceSchema,
]);
export type SourceConfig = z.infer<typeof sourceSchema>;

export const configSchema = z
  .strictObject({
    nats: natsSchema,
    sources: z.array(sourceSchema).default([]),
    api: apiSchema.optional(),
    webhooks: z
      .array(webhookSchema)
      .default([])
      .describe('Endpoints that receive resource events (docs/webhooks.md)'),
    deliveryLog: deliveryLogSchema,
    sinks: z.array(sinkSchema).default([]).describe('Databases the stream is applied to (docs/sinks.md)'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .prefault({}),
    metrics: z
      .strictObject({ listen: z.string().optional().describe('host:port for /metrics, /healthz and the /status page when no api is set') })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.sources.forEach((s, i) => {
      if ((reservedSubjectTokens as readonly string[]).includes(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `"${s.name}" is reserved (its subjects would collide with ${cfg.nats.subjectPrefix}.${s.name}.>); reserved: ${reservedSubjectTokens.join(', ')}`,
        });
      const first = seen.get(s.name);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `duplicate source name "${s.name}" (also sources[${first}])`,
        });
      else seen.set(s.name, i);
      s.outbox.forEach((o, j) => {
        const tables = s.tables.map((t) => (typeof t === 'string' ? t : t.table));
        if (!tableListed(tables, o.table))
          ctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'outbox', j, 'table'],
            message: `${o.table} is not among the source's tables; add it to tables so its rows are captured`,
          });
      });
    });
    checkApiReferences(cfg, ctx);
    checkWebhookReferences(cfg, ctx);
    checkSinkReferences(cfg, ctx);
  });

export type SluiceConfig = z.infer<typeof configSchema>;
export type NatsConfig = SluiceConfig['nats'];

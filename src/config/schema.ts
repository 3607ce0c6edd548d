// The one zod schema of the config file. Every field has a default and a description.
import { z } from 'zod';
import { pollingSourceSchema } from '../../adapters/polling/config.js';
import { mysqlSourceSchema } from '../../adapters/mysql/config.js';
import { postgresSourceSchema } from '../../adapters/postgres/config.js';
import { triggersSourceSchema } from '../../adapters/triggers/config.js';
import { apiSchema, checkApiReferences } from './api.js';
import { byteSize, duration } from './duration.js';
import { checkWebhookReferences, deliveryLogSchema, webhookSchema } from './webhooks.js';
import { reservedSubjectTokens } from '../delivery/resource-event.js';
import { checkSinkReferences, sinkSchema } from './sinks.js';
import { tableListed } from './outbox.js';

const token = /^[A-Za-z0-9_-]+$/;

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
    user: z.string().optional(),
    pass: z.string().optional(),
    token: z.string().optional(),
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
  .prefault({});

export const sourceSchema = z.discriminatedUnion('kind', [
  postgresSourceSchema,
  mysqlSourceSchema,
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
      .strictObject({ listen: z.string().optional().describe('host:port for /metrics when no api is set') })
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

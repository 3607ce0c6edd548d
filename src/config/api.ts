// The `api` section: the REST service over mapped legacy tables (docs/rest-api.md).
import { z } from 'zod';
import { codecNames, codecs } from '../core/codecs.js';
import { duration } from './duration.js';

const apiName = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const apiNameError = 'expected an identifier (letters, digits, _), starting with a letter';

export const actions = ['read', 'create', 'update', 'delete'] as const;
export type Action = (typeof actions)[number];

export const fieldSchema = z
  .strictObject({
    column: z.string().min(1).describe('Legacy column name, as the database spells it'),
    codec: z
      .enum(codecNames)
      .default('string')
      .describe(`How values convert: ${codecNames.join(', ')}`),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The codec's options (see docs/rest-api.md)"),
    nullable: z.boolean().default(true).describe('Whether null is a valid value (false: required on create)'),
    readOnly: z.boolean().default(false).describe('Served but never written (computed or identity columns)'),
    generated: z
      .boolean()
      .default(false)
      .describe('The database fills it on insert (identity/autoincrement); optional on create'),
    description: z.string().optional().describe('Shown in the OpenAPI document'),
  })
  .transform((f, ctx) => {
    const parsed = codecs[f.codec].options.safeParse(f.options);
    if (!parsed.success) {
      for (const i of parsed.error.issues) ctx.addIssue({ ...i, path: ['options', ...i.path] });
      return z.NEVER;
    }
    return { ...f, options: parsed.data };
  });
export type FieldConfig = z.output<typeof fieldSchema>;

const rowFilterSchema = z.strictObject({
  role: z.string().min(1).describe('Principals with this role see only their rows'),
  field: z.string().regex(apiName, apiNameError).describe('API field compared with the claim'),
  claim: z.string().min(1).describe('JWT claim (or `name` for an API key) holding the value'),
});
export type RowFilterConfig = z.infer<typeof rowFilterSchema>;

const relationSchema = z.strictObject({
  resource: z.string().describe('The related resource (same database)'),
  on: z
    .record(z.string(), z.string())
    .refine((m) => Object.keys(m).length > 0, 'name at least one field pair')
    .describe('local field → field of the related resource'),
  kind: z.enum(['one', 'many']).default('many').describe('many: embeds an array; one: an object or null'),
});
export type RelationConfig = z.infer<typeof relationSchema>;

export const resourceSchema = z
  .strictObject({
    source: z
      .string()
      .optional()
      .describe('A source name from sources[]: the API reads and writes its database'),
    url: z.string().optional().describe('Database URL for this resource (when no source captures the table)'),
    table: z
      .string()
      .regex(/^[^.\s]+(\.[^.\s]+)?$/, 'expected table or schema.table')
      .describe('Legacy table'),
    key: z
      .array(z.string())
      .min(1, 'name at least one key field')
      .describe('API fields forming the key, in URL order'),
    fields: z
      .record(z.string().regex(apiName, apiNameError), fieldSchema)
      .describe('API field name → column and codec'),
    access: z
      .record(z.string(), z.array(z.enum(actions)))
      .optional()
      .describe('role → actions; `anonymous` is the role of requests without credentials'),
    hiddenFields: z
      .record(z.string(), z.array(z.string()))
      .default({})
      .describe('role → fields it never sees'),
    rowFilter: z
      .union([rowFilterSchema, z.array(rowFilterSchema)])
      .optional()
      .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
    relations: z
      .record(z.string().regex(apiName, apiNameError), relationSchema)
      .default({})
      .describe('Embeddable related resources'),
    description: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const known = (f: string) => Object.hasOwn(r.fields, f);
    if (Object.keys(r.fields).length === 0)
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'map at least one field' });
    r.key.forEach((k, i) => {
      if (!known(k)) ctx.addIssue({ code: 'custom', path: ['key', i], message: `unknown field "${k}"` });
    });
    for (const [role, list] of Object.entries(r.hiddenFields))
      list.forEach((f, i) => {
        if (!known(f))
          ctx.addIssue({ code: 'custom', path: ['hiddenFields', role, i], message: `unknown field "${f}"` });
        if (r.key.includes(f))
          ctx.addIssue({
            code: 'custom',
            path: ['hiddenFields', role, i],
            message: 'key fields cannot be hidden',
          });
      });
    r.rowFilter.forEach((rf, i) => {
      if (!known(rf.field))
        ctx.addIssue({
          code: 'custom',
          path: ['rowFilter', i, 'field'],
          message: `unknown field "${rf.field}"`,
        });
    });
    for (const [name, rel] of Object.entries(r.relations))
      for (const local of Object.keys(rel.on))
        if (!known(local))
          ctx.addIssue({
            code: 'custom',
            path: ['relations', name, 'on', local],
            message: `unknown field "${local}"`,
          });
    const columns = new Map<string, string>();
    for (const [name, f] of Object.entries(r.fields)) {
      const other = columns.get(f.column);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['fields', name, 'column'],
          message: `column ${f.column} is already mapped by "${other}"`,
        });
      columns.set(f.column, name);
    }
  });
export type ResourceConfig = z.output<typeof resourceSchema>;

const jwtSchema = z
  .strictObject({
    secret: z
      .string()
      .min(16, 'use at least 16 characters')
      .optional()
      .describe('HMAC secret (HS256/384/512)'),
    jwksFile: z.string().optional().describe('JSON Web Key Set file with the public keys (RS*, ES*, EdDSA)'),
    issuer: z.string().optional().describe('Required `iss`'),
    audience: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Required `aud`'),
    rolesClaim: z.string().default('roles').describe('Claim holding the roles (an array or one string)'),
    clockTolerance: duration('30s').describe('Allowed clock skew for exp/nbf'),
  })
  .refine(
    (j) => (j.secret === undefined) !== (j.jwksFile === undefined),
    'set exactly one of secret or jwksFile',
  );

export const authSchema = z
  .strictObject({
    apiKeys: z
      .array(
        z.strictObject({
          name: z.string().min(1).describe('Who holds the key; used in logs, rate limits and row filters'),
          hash: z
            .string()
            .regex(
              /^sha256:[0-9a-f]{64}$/,
              'expected sha256:<64 hex digits> (print one with `sluice hash-key`)',
            ),
          roles: z.array(z.string().min(1)).min(1),
        }),
      )
      .default([])
      .describe('Sent as X-API-Key'),
    jwt: jwtSchema.optional().describe('Sent as Authorization: Bearer <token>'),
  })
  .prefault({});
export type AuthConfig = z.output<typeof authSchema>;

export const apiTlsSchema = z
  .strictObject({
    cert: z.string().min(1).describe('Server certificate chain file (PEM); reloaded on change or SIGHUP'),
    key: z.string().min(1).describe('Private key file of the certificate (PEM)'),
    ca: z
      .string()
      .optional()
      .describe(
        'CA file of client certificates: with it, clients must present one that chains to it (mutual TLS)',
      ),
    hstsMaxAge: z
      .number()
      .int()
      .min(0)
      .default(31_536_000)
      .describe('Strict-Transport-Security max-age in seconds (0 turns the header off)'),
  })
  .describe('HTTPS; absent: plain HTTP (loopback, or behind a TLS-terminating proxy)');
export type ApiTlsConfig = z.output<typeof apiTlsSchema>;

export const apiSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port')
      .default('127.0.0.1:8080')
      .describe('Address the REST service listens on'),
    tls: apiTlsSchema.optional(),
    basePath: z
      .string()
      .regex(/^\/[A-Za-z0-9/_-]*$/, 'expected a path like /api')
      .default('/api')
      .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)),
    database: z
      .string()
      .optional()
      .describe('Default database URL for resources with neither source nor url'),
    defaultLimit: z.number().int().min(1).default(50).describe('Page size when ?limit is absent'),
    maxLimit: z.number().int().min(1).default(1000).describe('Largest accepted ?limit'),
    embedLimit: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe('Most children ?embed puts under one parent; more: a <relation>@next link to the rest'),
    auth: authSchema,
    rateLimit: z
      .strictObject({
        limit: z
          .number()
          .int()
          .min(1)
          .default(600)
          .describe('Requests per window per API key, token subject or client address'),
        window: duration('1m'),
      })
      .optional()
      .describe('Off when absent'),
    limitStore: z
      .strictObject({
        kind: z
          .enum(['memory', 'nats'])
          .default('memory')
          .describe(
            'Where rateLimit and authFailureLimit count: memory (each process alone) or nats (a KV bucket every process behind a balancer shares, so together they admit the limit once)',
          ),
        bucket: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, _ or -')
          .default('sluice_limits')
          .describe('The NATS KV bucket of the shared counters (kind nats); created if missing'),
      })
      .prefault({})
      .describe('Counters of the rate limits'),
    authFailureLimit: z
      .union([
        z.literal(false),
        z.strictObject({
          limit: z.number().int().min(1).default(20).describe('Failed authentications per window'),
          window: duration('1m'),
        }),
      ])
      .prefault({})
      .describe(
        'Requests with a wrong API key or token, counted per client address (on top of rateLimit); false: off',
      ),
    trustProxy: z
      .union([z.boolean(), z.number().int().min(0).max(32)])
      .default(false)
      .transform((v) => (v === true ? 1 : v === false ? 0 : v))
      .describe(
        'Reverse proxies in front of sluice that append to X-Forwarded-For: the client address is the entry that many places from the right (true = 1, false = 0: the socket peer)',
      ),
    idempotency: z
      .strictObject({
        ttl: duration('24h').describe('How long a POST response is kept for replay'),
      })
      .prefault({})
      .describe(
        'Idempotency-Key records, kept in the table sluice_idempotency that `sluice migrate --api` installs in each API database where resources can be created',
      ),
    docs: z.boolean().default(true).describe('Serve the interactive reference at <basePath>/docs'),
    changes: z
      .strictObject({
        heartbeat: duration('15s').describe(
          'A `:` comment line on idle Server-Sent Events streams this often',
        ),
        maxWait: duration('60s').describe('Longest ?wait a long-poll request may ask for'),
        defaultWait: duration('30s').describe('How long a long-poll waits when ?wait is absent'),
        buffer: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe(
            'Events held for one subscriber that reads too slowly; past this its stream is closed and it resumes with Last-Event-ID',
          ),
        idleTimeout: duration('30s').describe(
          "How long a resource's shared consumer outlives its last subscriber",
        ),
      })
      .prefault({})
      .describe('GET <basePath>/<resource>/changes (docs/change-feed.md)'),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional()
      .describe(
        "The URL clients reach the API at (scheme, host and any proxy prefix, without basePath): the OpenAPI document's servers entry. Default: the origin each request came to",
      ),
    openapi: z
      .strictObject({
        title: z.string().min(1).default('Sluice REST API'),
        version: z.string().min(1).default('0.1.0').describe("The API's version (info.version)"),
        license: z
          .strictObject({
            name: z.string().min(1),
            identifier: z.string().optional().describe('SPDX identifier'),
            url: z.url().optional(),
          })
          .refine((l) => !(l.identifier && l.url), 'set identifier or url, not both')
          .default({ name: 'Proprietary' })
          .describe("The license of the API's data and interface (info.license)"),
      })
      .prefault({})
      .describe('What the OpenAPI document says about the API itself'),
    resources: z
      .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or -'), resourceSchema)
      .default({}),
  })
  .superRefine((api, ctx) => {
    if (api.defaultLimit > api.maxLimit)
      ctx.addIssue({
        code: 'custom',
        path: ['defaultLimit'],
        message: `must not exceed maxLimit (${api.maxLimit})`,
      });
  })
  .describe('REST API over the legacy tables');

export type ApiConfig = z.output<typeof apiSchema>;

interface ReferenceContext {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** The database URL a resource runs on: its own `url`, its source's, or `api.database`. */
export function resourceDatabaseUrl(
  r: Pick<ResourceConfig, 'url' | 'source'>,
  sources: readonly { name: string; url?: string | undefined }[],
  api: Pick<ApiConfig, 'database'>,
): string | undefined {
  if (r.url) return r.url;
  if (r.source) return sources.find((s) => s.name === r.source)?.url;
  return api.database;
}

/**
 * Cross-field checks of `api` against the rest of the config; call from the config schema's
 * superRefine: resource sources exist, every resource has a database, relations point at
 * existing resources and fields in the same database.
 */
export function checkApiReferences(
  cfg: { sources: readonly { name: string; url?: string | undefined }[]; api?: ApiConfig | undefined },
  ctx: ReferenceContext,
): void {
  const api = cfg.api;
  if (!api) return;
  for (const [name, r] of Object.entries(api.resources)) {
    const at = ['api', 'resources', name];
    if (r.source !== undefined && !cfg.sources.some((s) => s.name === r.source))
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'source'],
        message: `no source named "${r.source}" in sources[]`,
      });
    else if (resourceDatabaseUrl(r, cfg.sources, api) === undefined)
      ctx.addIssue({ code: 'custom', path: at, message: 'no database: set source, url, or api.database' });
    for (const [relName, rel] of Object.entries(r.relations)) {
      const target = api.resources[rel.resource];
      const relAt = [...at, 'relations', relName];
      if (!target) {
        ctx.addIssue({
          code: 'custom',
          path: [...relAt, 'resource'],
          message: `no resource named "${rel.resource}"`,
        });
        continue;
      }
      for (const [local, remote] of Object.entries(rel.on))
        if (!Object.hasOwn(target.fields, remote))
          ctx.addIssue({
            code: 'custom',
            path: [...relAt, 'on', local],
            message: `"${rel.resource}" has no field "${remote}"`,
          });
      if (resourceDatabaseUrl(r, cfg.sources, api) !== resourceDatabaseUrl(target, cfg.sources, api))
        ctx.addIssue({
          code: 'custom',
          path: relAt,
          message: 'related resources must live in the same database',
        });
    }
  }
}

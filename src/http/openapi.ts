// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. It declares
// everything the server sends (statuses, headers, bodies), so generated clients and validating
// proxies agree with the server (test/integration/rest/ validates every response against it).
// Paths per resource come from `ResourcePathBuilder`s: others (the change feed) add their own.
import { z } from 'zod';
import type { ApiConfig } from '../config/api.js';
import { feedPaths } from '../delivery/feed/feed-openapi.js';
import { comparisonOps } from '../resources/filter-grammar.js';
import type { ResourceRuntime } from './resource-runtime.js';

export type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

/** A resource's name as a schema name: `order-lines` → `OrderLines`. */
export function schemaName(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

export const schemaRef = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
export const jsonContent = (schema: Json, type = 'application/json'): Json => ({ [type]: { schema } });

/** What a path builder needs to know about the document it adds to. */
export interface OpenApiContext {
  readonly api: ApiConfig;
  /** `api.basePath` without a trailing slash ('' for '/'). */
  readonly basePath: string;
  /** The operation's `security`, given the action (empty when the API has no auth). */
  security(r: ResourceRuntime, action: 'read' | 'create' | 'update' | 'delete'): Json;
  /**
   * Headers (`components.headers` names) to declare on a response, plus RateLimit-* when limits
   * are on. ETag and Location are declared required (sent on every response that declares them).
   */
  headers(always: readonly string[], sometimes?: readonly string[]): Json;
  /** Problem responses (`components.responses`) for these statuses. */
  problems(...statuses: number[]): Json;
  /** Adds a schema to `components.schemas` (or replaces one of the same name). */
  addSchema(name: string, schema: Json): void;
}

/** Adds the paths one resource contributes (keys are full paths, basePath included). */
export type ResourcePathBuilder = (r: ResourceRuntime, ctx: OpenApiContext) => Json;

/** Filter parameters: one per visible field, repeatable (`salary=gte.1500&salary=lte.1510`, ANDed). */
export function filterParams(r: ResourceRuntime): Json[] {
  return [...r.mapping.fields.values()].map((f) => {
    const ops = comparisonOps.filter((op) => f.codec.textual || (op !== 'like' && op !== 'ilike'));
    return {
      name: f.name,
      in: 'query',
      required: false,
      style: 'form',
      explode: true,
      description: `Filter on ${f.name}: ${ops.map((o) => `${o}.`).join(', ')} with an optional not. prefix (in.(a,b), is.null${f.codec.textual ? ', like./ilike. with * as the wildcard' : ''}). Values are given in the API form; null shown in responses is null here too. Repeat the parameter to AND several conditions.`,
      schema: {
        type: 'array',
        items: { type: 'string', pattern: `^(not\\.)?(${ops.join('|')})\\.` },
      },
    };
  });
}

/** The GET form of a row: any field may be left out by `select`, relations appear with `embed`. */
function selectionSchema(
  r: ResourceRuntime,
  row: Json,
  resources: ReadonlyMap<string, ResourceRuntime>,
): Json {
  const properties: Json = { ...(row.properties as Json) };
  for (const [name, rel] of Object.entries(r.config.relations)) {
    const target = resources.get(rel.resource);
    if (!target) continue;
    const T = schemaName(target.name);
    if (rel.kind === 'one') {
      properties[name] = {
        description: `With embed=${name}: the related ${target.name} row, or null`,
        anyOf: [schemaRef(T), { type: 'null' }],
      };
    } else {
      properties[name] = {
        description: `With embed=${name}: the related ${target.name} rows (at most embedLimit)`,
        type: 'array',
        items: schemaRef(T),
      };
      properties[`${name}@next`] = {
        description: `With embed=${name}, when there are more related rows than embedLimit: the link to the rest`,
        type: 'string',
      };
    }
  }
  return {
    type: 'object',
    description: `A ${r.name} row as GET returns it: the fields named by select (all by default; so each may be absent) and the relations named by embed`,
    properties,
    additionalProperties: false,
  };
}

function withoutContent(res: Json): Json {
  const { content: _content, ...rest } = res;
  return rest;
}

/** GET/HEAD/POST on the collection, GET/HEAD/PUT/PATCH/DELETE on one row. */
export const resourcePaths: ResourcePathBuilder = (r, ctx) => {
  const S = schemaName(r.name);
  const base = ctx.basePath;
  const p = (n: string) => ({ $ref: `#/components/parameters/${n}` });
  // One path parameter per key field, joined by commas in the path itself
  // (`/orders/{customerId},{orderNo}`): generated clients fill each one, typed by its codec.
  const keyParams = r.mapping.key.map((k) => ({
    name: k.name,
    in: 'path',
    required: true,
    description: `Key field ${k.name}${r.mapping.key.length > 1 ? ' (percent-encode a comma inside the value)' : ''}`,
    schema: jsonSchema(k.schema, 'input'),
  }));
  const itemPath = `${base}/${r.name}/${r.mapping.key.map((k) => `{${k.name}}`).join(',')}`;
  const listParams = [
    p('limit'),
    p('cursor'),
    p('order'),
    p('select'),
    p('embed'),
    p('or'),
    p('and'),
    p('notOr'),
    p('notAnd'),
    p('PreferCount'),
    ...filterParams(r),
  ];
  const pageSchema = {
    type: 'object',
    properties: {
      data: { type: 'array', items: schemaRef(`${S}Selection`) },
      next: { type: ['string', 'null'], description: 'Cursor of the next page; null on the last one' },
      count: { type: 'integer', description: 'With Prefer: count=exact|estimated' },
    },
    required: ['data', 'next'],
    additionalProperties: false,
  };
  const listHeaders = ctx.headers([], ['Link', 'ContentRange', 'PreferenceApplied']);
  const readErrors = [400, 401, 403, 429, 500, 503];
  const withoutBodies = (responses: Json): Json =>
    Object.fromEntries(
      Object.entries(responses).map(([status, res]) => [
        status,
        '$ref' in (res as Json)
          ? { description: 'Problem (HEAD: headers only)' }
          : withoutContent(res as Json),
      ]),
    );
  const listResponses = {
    '200': {
      description: 'A page of rows; follow `next` (or the Link header) for the next page',
      headers: listHeaders,
      content: jsonContent(pageSchema),
    },
    ...ctx.problems(...readErrors),
  };
  const getResponses = {
    '200': {
      description: 'The row',
      headers: ctx.headers(['ETag']),
      content: jsonContent(schemaRef(`${S}Selection`)),
    },
    '304': {
      description: 'Not modified (If-None-Match holds the current ETag)',
      headers: ctx.headers(['ETag']),
    },
    ...ctx.problems(...readErrors, 404),
  };
  const writeHeaders = ctx.headers(['ETag', 'PreferenceApplied']);
  return {
    [`${base}/${r.name}`]: {
      get: {
        operationId: `list${S}`,
        tags: [r.name],
        summary: `List ${r.name}`,
        ...(r.config.description ? { description: r.config.description } : {}),
        parameters: listParams,
        responses: listResponses,
        ...ctx.security(r, 'read'),
      },
      head: {
        operationId: `head${S}List`,
        tags: [r.name],
        summary: `Headers of a ${r.name} page`,
        parameters: listParams,
        responses: withoutBodies(listResponses),
        ...ctx.security(r, 'read'),
      },
      post: {
        operationId: `create${S}`,
        tags: [r.name],
        summary: `Create a ${r.name} row`,
        parameters: [p('IdempotencyKey'), p('PreferReturn')],
        requestBody: { required: true, content: jsonContent(schemaRef(`${S}Create`)) },
        responses: {
          '201': {
            description:
              'Created (a repeated Idempotency-Key replays the first response, with Idempotent-Replayed)',
            headers: ctx.headers(['Location', 'ETag', 'PreferenceApplied'], ['IdempotentReplayed']),
            content: jsonContent(schemaRef(S)),
          },
          '204': {
            description: 'Created, with Prefer: return=minimal: no body; Location names the new row',
            headers: ctx.headers(['Location', 'ETag', 'PreferenceApplied'], ['IdempotentReplayed']),
          },
          // 501: Idempotency-Key sent while its table is not installed (`sluice migrate --api`).
          ...ctx.problems(400, 401, 403, 409, 413, 415, 422, 429, 500, 501, 503),
        },
        ...ctx.security(r, 'create'),
      },
    },
    [itemPath]: {
      parameters: keyParams,
      get: {
        operationId: `get${S}`,
        tags: [r.name],
        summary: `Get one ${r.name} row`,
        parameters: [p('select'), p('embed'), p('IfNoneMatch')],
        responses: getResponses,
        ...ctx.security(r, 'read'),
      },
      head: {
        operationId: `head${S}`,
        tags: [r.name],
        summary: `Headers (ETag) of one ${r.name} row`,
        parameters: [p('select'), p('embed'), p('IfNoneMatch')],
        responses: withoutBodies(getResponses),
        ...ctx.security(r, 'read'),
      },
      put: {
        operationId: `replace${S}`,
        tags: [r.name],
        summary: `Replace a ${r.name} row (fields left out become null)`,
        parameters: [p('IfMatch'), p('PreferReturn')],
        requestBody: { required: true, content: jsonContent(schemaRef(`${S}Replace`)) },
        responses: {
          '200': { description: 'Replaced', headers: writeHeaders, content: jsonContent(schemaRef(S)) },
          '204': { description: 'Replaced (Prefer: return=minimal)', headers: writeHeaders },
          ...ctx.problems(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503),
        },
        ...ctx.security(r, 'update'),
      },
      patch: {
        operationId: `update${S}`,
        tags: [r.name],
        summary: `Update some fields of a ${r.name} row`,
        parameters: [p('IfMatch'), p('PreferReturn')],
        requestBody: { required: true, content: jsonContent(schemaRef(`${S}Patch`)) },
        responses: {
          '200': { description: 'Updated', headers: writeHeaders, content: jsonContent(schemaRef(S)) },
          '204': { description: 'Updated (Prefer: return=minimal)', headers: writeHeaders },
          ...ctx.problems(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503),
        },
        ...ctx.security(r, 'update'),
      },
      delete: {
        operationId: `delete${S}`,
        tags: [r.name],
        summary: `Delete a ${r.name} row`,
        parameters: [p('IfMatch')],
        responses: {
          '204': { description: 'Deleted', headers: ctx.headers([]) },
          ...ctx.problems(400, 401, 403, 404, 409, 412, 429, 500, 503),
        },
        ...ctx.security(r, 'delete'),
      },
    },
  };
};

const logicParam = (name: string, what: string): Json => ({
  name,
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  description: `${what}: (a.eq.1,b.gt.2,and(c.lt.3,d.is.null)); repeat the parameter to AND several groups`,
  schema: { type: 'array', items: { type: 'string', pattern: '^\\(.*\\)$' } },
});

function sharedParameters(api: ApiConfig): Json {
  return {
    limit: {
      name: 'limit',
      in: 'query',
      description: `Rows per page (default ${api.defaultLimit})`,
      schema: { type: 'integer', minimum: 1, maximum: api.maxLimit, default: api.defaultLimit },
    },
    cursor: {
      name: 'cursor',
      in: 'query',
      description: 'Opaque cursor from `next` of the previous page',
      schema: { type: 'string' },
    },
    order: {
      name: 'order',
      in: 'query',
      description: 'field.asc,other.desc (the key breaks ties)',
      schema: { type: 'string' },
    },
    select: {
      name: 'select',
      in: 'query',
      description: 'Comma-separated fields to return (the others are left out of each row)',
      schema: { type: 'string' },
    },
    embed: {
      name: 'embed',
      in: 'query',
      description:
        'Comma-separated relations to embed one level deep; a parent with more children than the embed limit gets `<relation>@next`, a link to the rest',
      schema: { type: 'string' },
    },
    or: logicParam('or', 'Any of several conditions'),
    and: logicParam('and', 'All of several conditions'),
    notOr: logicParam('not.or', 'None of several conditions'),
    notAnd: logicParam('not.and', 'Not all of several conditions'),
    PreferCount: {
      name: 'Prefer',
      in: 'header',
      description: 'count=exact or count=estimated adds the total (`count`, Content-Range)',
      schema: { type: 'string' },
    },
    PreferReturn: {
      name: 'Prefer',
      in: 'header',
      description: 'return=minimal (204, no body) or return=representation (default)',
      schema: { type: 'string' },
    },
    IfMatch: {
      name: 'If-Match',
      in: 'header',
      description: 'ETag from a read; 412 when the row changed since',
      schema: { type: 'string' },
    },
    IfNoneMatch: {
      name: 'If-None-Match',
      in: 'header',
      description: 'ETag from a read; 304 without a body when the row has not changed',
      schema: { type: 'string' },
    },
    IdempotencyKey: {
      name: 'Idempotency-Key',
      in: 'header',
      description: 'A repeat of the same key returns the first response',
      schema: { type: 'string', minLength: 1, maxLength: 200 },
    },
  };
}

const stringHeader = (description: string): Json => ({ description, schema: { type: 'string' } });
const integerHeader = (description: string): Json => ({
  description,
  schema: { type: 'integer', minimum: 0 },
});

/** Every response header the API sends, by component name. */
const headerComponents: Json = {
  ETag: { ...stringHeader('The row version; send it back in If-Match to update safely'), required: true },
  Location: { ...stringHeader('Path of the created row'), required: true },
  PreferenceApplied: stringHeader('The Prefer preferences honoured (return=..., count=...)'),
  IdempotentReplayed: {
    description: 'true when this is the stored response of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
  Link: stringHeader('<next page>; rel="next"'),
  ContentRange: stringHeader('first-last/total of this page (with Prefer: count=...)'),
  RetryAfter: integerHeader('Seconds to wait before retrying'),
  RateLimitLimit: integerHeader('Requests allowed per window'),
  RateLimitRemaining: integerHeader('Requests left in this window'),
  RateLimitReset: integerHeader('Seconds until the window resets'),
  RateLimitPolicy: stringHeader('limit;w=window-seconds'),
};
const headerNames: Record<string, string> = {
  ETag: 'ETag',
  Location: 'Location',
  PreferenceApplied: 'Preference-Applied',
  IdempotentReplayed: 'Idempotent-Replayed',
  Link: 'Link',
  ContentRange: 'Content-Range',
  RetryAfter: 'Retry-After',
  RateLimitLimit: 'RateLimit-Limit',
  RateLimitRemaining: 'RateLimit-Remaining',
  RateLimitReset: 'RateLimit-Reset',
  RateLimitPolicy: 'RateLimit-Policy',
};
const rateLimitHeaders = ['RateLimitLimit', 'RateLimitRemaining', 'RateLimitReset', 'RateLimitPolicy'];

const problemSchema: Json = {
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } },
        required: ['path', 'message'],
      },
    },
  },
  required: ['type', 'title', 'status'],
};

const problemTitles: Record<number, string> = {
  400: 'Bad request (a query parameter, key or body that cannot be read)',
  401: 'Missing or wrong credentials',
  403: 'Not allowed for this caller',
  404: 'No such row (or not visible to this caller)',
  410: 'The resume position is older than what the stream retains (start again without it)',
  409: 'Conflict (duplicate key, referenced row, concurrent write: then Retry-After)',
  412: 'If-Match does not hold the current ETag',
  413: 'Body larger than 1 MiB',
  415: 'Body is not application/json',
  422: 'Body does not match the schema, or the database refused its values',
  429: 'Too many requests (Retry-After says when to retry)',
  500: 'Unexpected error, or a stored value the configuration refuses to show',
  501: 'Idempotency-Key sent but its table is not installed (`sluice migrate --api`)',
  503: 'The database cannot be reached right now',
};

/** Paths outside basePath: health, readiness, metrics, and this document. */
function servicePaths(base: string): Json {
  const status = (states: string[]) => ({
    type: 'object',
    properties: {
      status: { type: 'string', enum: states },
      checks: {
        type: 'array',
        items: {
          type: 'object',
          properties: { database: { type: 'string' }, ok: { type: 'boolean' }, error: { type: 'string' } },
          required: ['database', 'ok'],
        },
      },
    },
    required: ['status'],
  });
  const op = (operationId: string, summary: string, responses: Json) => ({
    get: { operationId, tags: ['service'], summary, security: [], responses },
  });
  return {
    '/healthz': op('health', 'The process answers', {
      '200': { description: 'Alive', content: jsonContent(status(['ok'])) },
    }),
    '/readyz': op('readiness', 'Every API database answers', {
      '200': { description: 'Ready', content: jsonContent(status(['ready'])) },
      '503': { description: 'A database does not answer', content: jsonContent(status(['unavailable'])) },
    }),
    '/metrics': op('metrics', 'Prometheus metrics', {
      '200': {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    }),
    [`${base}/openapi.json`]: op('openapi', 'This document', {
      '200': { description: 'OpenAPI 3.1', content: jsonContent({ type: 'object' }) },
    }),
  };
}

/** Names of fields some role never sees: responses to that role leave them out. */
function sometimesHidden(r: ResourceRuntime): Set<string> {
  return new Set(Object.values(r.config.hiddenFields).flat());
}

export interface OpenApiOptions {
  /** Path builders run for every resource after the standard ones (e.g. the change feed). */
  readonly pathBuilders?: readonly ResourcePathBuilder[];
}

/**
 * The document, without `servers` (added per request from `api.publicUrl` or the request's
 * origin, see `withServers`).
 */
export function buildOpenApi(
  api: ApiConfig,
  resources: ReadonlyMap<string, ResourceRuntime>,
  options: OpenApiOptions = {},
): Json {
  const schemes: Json = {};
  if (api.auth.apiKeys.length > 0) schemes.apiKey = { type: 'apiKey', in: 'header', name: 'X-API-Key' };
  if (api.auth.jwt) schemes.bearer = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' };
  const security =
    Object.keys(schemes).length > 0 ? Object.keys(schemes).map((k) => ({ [k]: [] })) : undefined;
  const limited = api.rateLimit !== undefined;
  const schemas: Json = { Problem: problemSchema };
  const headerRefs = (names: readonly string[]) =>
    Object.fromEntries(names.map((n) => [headerNames[n]!, { $ref: `#/components/headers/${n}` }]));
  const headers = (required: readonly string[], optional: readonly string[] = []) => ({
    ...headerRefs(required),
    ...headerRefs([...optional, ...(limited ? rateLimitHeaders : [])]),
  });
  const ctx: OpenApiContext = {
    api,
    basePath: api.basePath === '/' ? '' : api.basePath,
    security: (r, action) =>
      // `{}` in the list: the operation also works without credentials.
      security
        ? { security: r.policy.anonymousActions().has(action) ? [{}, ...security] : security }
        : { security: [] }, // no api.auth: said explicitly
    headers,
    problems: (...statuses) =>
      Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Problem${s}` }])),
    addSchema: (name, schema) => {
      schemas[name] = schema;
    },
  };
  const responses: Json = {};
  for (const [status, description] of Object.entries(problemTitles))
    responses[`Problem${status}`] = {
      description,
      headers: headers([], status === '429' || status === '409' ? ['RetryAfter'] : []),
      content: jsonContent(schemaRef('Problem'), 'application/problem+json'),
    };
  const paths: Json = {};
  for (const r of resources.values()) {
    const S = schemaName(r.name);
    const s = r.mapping.schemas();
    const row = jsonSchema(s.read, 'output');
    const hidden = sometimesHidden(r);
    // Write responses carry the whole visible row: every field, except those some role never sees.
    row.required = Object.keys(row.properties as Json).filter((f) => !hidden.has(f));
    schemas[S] = row;
    schemas[`${S}Selection`] = selectionSchema(r, row, resources);
    schemas[`${S}Create`] = jsonSchema(s.create, 'input');
    schemas[`${S}Replace`] = jsonSchema(s.replace, 'input');
    schemas[`${S}Patch`] = jsonSchema(s.patch, 'input');
    for (const build of [resourcePaths, feedPaths, ...(options.pathBuilders ?? [])])
      Object.assign(paths, build(r, ctx));
  }
  // Service paths last: reference pages open the first tag, which should be a resource.
  Object.assign(paths, servicePaths(ctx.basePath));
  return {
    openapi: '3.1.0',
    info: {
      title: api.openapi.title,
      version: api.openapi.version,
      description:
        'Legacy tables served with modern names and types. Errors are RFC 9457 problem details. GET responses declare every field optional because `select` may leave any out; write responses carry the whole row.',
      license: api.openapi.license,
    },
    paths,
    components: {
      schemas,
      parameters: sharedParameters(api),
      headers: limited
        ? headerComponents
        : Object.fromEntries(Object.entries(headerComponents).filter(([k]) => !rateLimitHeaders.includes(k))),
      responses,
      ...(Object.keys(schemes).length > 0 ? { securitySchemes: schemes } : {}),
    },
  };
}

/**
 * The document with its `servers` entry: `api.publicUrl` when set (the URL clients reach the API
 * at, behind proxies), else the origin the request came to. Paths include basePath.
 */
export function withServers(doc: Json, api: ApiConfig, requestUrl: string): Json {
  const url = api.publicUrl ?? new URL(requestUrl).origin;
  return { openapi: doc.openapi, info: doc.info, servers: [{ url }], ...doc };
}

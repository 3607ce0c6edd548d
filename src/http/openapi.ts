// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
import { z } from 'zod';
import type { ApiConfig } from '../config/api.js';
import { feedPaths } from '../delivery/feed/feed-openapi.js';
import type { ResourceRuntime } from './resource-runtime.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

const problemRef = { $ref: '#/components/responses/Problem' };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), problemRef]));

function resourcePaths(r: ResourceRuntime, base: string, security: Json[] | undefined): Json {
  const S = pascal(r.name);
  const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
  const keyDoc = r.mapping.key.map((k) => k.name).join(',');
  const sec = (action: 'read' | 'create' | 'update' | 'delete') =>
    // `{}` in the list: the operation also works without credentials.
    security ? { security: r.policy.anonymousActions().has(action) ? [{}, ...security] : security } : {};
  const filterParams = [...r.mapping.fields.values()].map((f) => ({
    name: f.name,
    in: 'query',
    required: false,
    description: `Filter on ${f.name}: eq., neq., gt., gte., lt., lte.${f.codec.textual ? ', like., ilike. (* is the wildcard)' : ''}, in.(a,b), is.null, with an optional not. prefix. Values are given in the API form.`,
    schema: { type: 'string' },
  }));
  const json = (schema: Json) => ({ 'application/json': { schema } });
  const etagHeader = {
    ETag: { schema: { type: 'string' }, description: 'Send back in If-Match to update safely' },
  };
  const itemResponse = (status: string, desc: string) => ({
    [status]: { description: desc, headers: etagHeader, content: json(ref(S)) },
  });
  const keyParam = {
    name: 'key',
    in: 'path',
    required: true,
    description: `The key (${keyDoc})${r.mapping.key.length > 1 ? ', values joined by commas in this order' : ''}`,
    schema: { type: 'string' },
  };
  const p = (n: string) => ({ $ref: `#/components/parameters/${n}` });
  return {
    [`${base}/${r.name}`]: {
      get: {
        operationId: `list${S}`,
        tags: [r.name],
        summary: `List ${r.name}`,
        ...(r.config.description ? { description: r.config.description } : {}),
        parameters: [
          p('limit'),
          p('cursor'),
          p('order'),
          p('select'),
          p('embed'),
          p('or'),
          p('PreferCount'),
          ...filterParams,
        ],
        responses: {
          '200': {
            description: 'A page of rows; follow `next` (or the Link header) for the next page',
            headers: {
              Link: { schema: { type: 'string' } },
              'Content-Range': { schema: { type: 'string' } },
            },
            content: json({
              type: 'object',
              properties: {
                data: { type: 'array', items: ref(S) },
                next: { type: ['string', 'null'] },
                count: { type: 'integer' },
              },
              required: ['data', 'next'],
            }),
          },
          ...errors(400, 401, 403, 429),
        },
        ...sec('read'),
      },
      post: {
        operationId: `create${S}`,
        tags: [r.name],
        summary: `Create a ${r.name} row`,
        parameters: [p('IdempotencyKey'), p('PreferReturn')],
        requestBody: { required: true, content: json(ref(`${S}Create`)) },
        responses: {
          ...itemResponse('201', 'Created'),
          // 501: Idempotency-Key sent while its table is not installed (`sluice migrate --api`).
          ...errors(400, 401, 403, 409, 415, 422, 429, 501),
        },
        ...sec('create'),
      },
    },
    [`${base}/${r.name}/{key}`]: {
      parameters: [keyParam],
      get: {
        operationId: `get${S}`,
        tags: [r.name],
        summary: `Get one ${r.name} row`,
        parameters: [p('select'), p('embed')],
        responses: {
          ...itemResponse('200', 'The row'),
          '304': { description: 'Not modified (If-None-Match)' },
          ...errors(400, 401, 403, 404, 429),
        },
        ...sec('read'),
      },
      put: {
        operationId: `replace${S}`,
        tags: [r.name],
        summary: `Replace a ${r.name} row (fields left out become null)`,
        parameters: [p('IfMatch'), p('PreferReturn')],
        requestBody: { required: true, content: json(ref(`${S}Replace`)) },
        responses: {
          ...itemResponse('200', 'Replaced'),
          '204': { description: 'Replaced (return=minimal)' },
          ...errors(400, 401, 403, 404, 409, 412, 415, 422, 429),
        },
        ...sec('update'),
      },
      patch: {
        operationId: `update${S}`,
        tags: [r.name],
        summary: `Update some fields of a ${r.name} row`,
        parameters: [p('IfMatch'), p('PreferReturn')],
        requestBody: { required: true, content: json(ref(`${S}Patch`)) },
        responses: {
          ...itemResponse('200', 'Updated'),
          '204': { description: 'Updated (return=minimal)' },
          ...errors(400, 401, 403, 404, 409, 412, 415, 422, 429),
        },
        ...sec('update'),
      },
      delete: {
        operationId: `delete${S}`,
        tags: [r.name],
        summary: `Delete a ${r.name} row`,
        parameters: [p('IfMatch')],
        responses: { '204': { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409, 412, 429) },
        ...sec('delete'),
      },
    },
  };
}

const sharedParameters: Json = {
  limit: {
    name: 'limit',
    in: 'query',
    description: 'Rows per page',
    schema: { type: 'integer', minimum: 1 },
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
    description: 'Comma-separated fields to return',
    schema: { type: 'string' },
  },
  embed: {
    name: 'embed',
    in: 'query',
    description:
      'Comma-separated relations to embed one level deep; a parent with more children than the embed limit gets `<relation>@next`, a link to the rest',
    schema: { type: 'string' },
  },
  or: {
    name: 'or',
    in: 'query',
    description: 'Any of several conditions: (a.eq.1,b.gt.2,and(c.lt.3,d.is.null))',
    schema: { type: 'string' },
  },
  PreferCount: {
    name: 'Prefer',
    in: 'header',
    description: 'count=exact or count=estimated adds the total',
    schema: { type: 'string' },
  },
  PreferReturn: {
    name: 'Prefer',
    in: 'header',
    description: 'return=minimal or return=representation (default)',
    schema: { type: 'string' },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    description: 'ETag from a read; 412 when the row changed since',
    schema: { type: 'string' },
  },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    description: 'A repeat of the same key returns the first response',
    schema: { type: 'string', maxLength: 200 },
  },
};

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

export function buildOpenApi(api: ApiConfig, resources: ReadonlyMap<string, ResourceRuntime>): Json {
  const schemes: Json = {};
  if (api.auth.apiKeys.length > 0) schemes.apiKey = { type: 'apiKey', in: 'header', name: 'X-API-Key' };
  if (api.auth.jwt) schemes.bearer = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' };
  const security =
    Object.keys(schemes).length > 0 ? Object.keys(schemes).map((k) => ({ [k]: [] })) : undefined;
  const paths: Json = {};
  const schemas: Json = { Problem: problemSchema };
  for (const r of resources.values()) {
    Object.assign(paths, resourcePaths(r, api.basePath === '/' ? '' : api.basePath, security));
    Object.assign(paths, feedPaths(r, api.basePath === '/' ? '' : api.basePath, security));
    const S = pascal(r.name);
    const s = r.mapping.schemas();
    schemas[S] = jsonSchema(s.read, 'output');
    schemas[`${S}Create`] = jsonSchema(s.create, 'input');
    schemas[`${S}Replace`] = jsonSchema(s.replace, 'input');
    schemas[`${S}Patch`] = jsonSchema(s.patch, 'input');
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice REST API',
      version: '0.1.0',
      description: 'Legacy tables served with modern names and types. Errors are RFC 9457 problem details.',
    },
    paths,
    components: {
      schemas,
      parameters: sharedParameters,
      responses: {
        Problem: {
          description: 'Problem details',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
      ...(Object.keys(schemes).length > 0 ? { securitySchemes: schemes } : {}),
    },
  };
}

// The OpenAPI path item of GET <basePath>/<resource>/changes (docs/change-feed.md), kept apart from
// src/http/openapi.ts, which adds it with one call per resource.
import {
  filterParams,
  schemaName as openApiSchemaName,
  type ResourcePathBuilder,
} from '../../http/openapi.js';

type Json = Record<string, unknown>;

const feedParams = ['after', 'from', 'wait', 'limit'];

export const feedPaths: ResourcePathBuilder = (r, ctx) => {
  const base = ctx.basePath;
  const schemaName = openApiSchemaName(r.name);
  const row = { anyOf: [{ $ref: `#/components/schemas/${schemaName}` }, { type: 'null' }] };
  const event: Json = {
    type: 'object',
    description:
      'A CloudEvents 1.0 event in the API shape; fields hidden from the caller are left out of key, after and before',
    properties: {
      specversion: { const: '1.0' },
      id: { type: 'string', description: 'Stable: the same event always has the same id' },
      source: { type: 'string' },
      type: {
        type: 'string',
        enum: ['created', 'updated', 'deleted', 'snapshot', 'truncated'].map((t) => `${r.name}.${t}`),
      },
      subject: { type: 'string', description: 'The key values joined by commas' },
      time: { type: 'string', format: 'date-time', description: 'Commit time' },
      datacontenttype: { const: 'application/json' },
      sluiceview: {
        enum: ['entered', 'left'],
        description: "An update that moved the row into (created) or out of (deleted) the caller's view",
      },
      data: {
        type: 'object',
        properties: { key: { type: ['object', 'null'] }, after: row, before: row },
        required: ['key', 'after', 'before'],
      },
    },
    required: ['specversion', 'id', 'source', 'type', 'time', 'data'],
  };
  const query = (name: string, description: string, schema: Json = { type: 'string' }) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema,
  });
  const filters = filterParams(r).filter((f) => !feedParams.includes(f.name as string));
  const logic = ['or', 'and', 'notOr', 'notAnd'].map((n) => ({ $ref: `#/components/parameters/${n}` }));
  return {
    [`${base}/${r.name}/changes`]: {
      get: {
        operationId: `changesOf${schemaName}`,
        tags: [r.name],
        summary: `Follow changes to ${r.name}`,
        description:
          'Server-Sent Events (`id:` a resume token, `event:` the type, `data:` the CloudEvent; `:` heartbeats), ' +
          'or long-poll JSON with `Accept: application/json`. Without a resume position it starts at the end of ' +
          "the stream. The caller's row filters and hidden fields apply; an update moving a row out of the view " +
          'arrives as a `deleted`, one moving it in as a `created`.',
        parameters: [
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            description:
              'Resume after this token (what a browser EventSource sends on reconnect); wins over ?after',
            schema: { type: 'string', pattern: '^\\d+$' },
          },
          query('after', 'Resume after this token (an event id, or `next` of a long-poll)', {
            type: 'string',
            pattern: '^\\d+$',
          }),
          query('from', '`start`: replay what the stream retains; `end` (default): only new changes', {
            enum: ['start', 'end'],
          }),
          query('wait', 'Long-poll: how long to wait for a first event, like 30s (bounded by the server)'),
          query('limit', 'Long-poll: most events per response', { type: 'integer', minimum: 1 }),
          ...logic,
          ...filters,
        ],
        responses: {
          '200': {
            description: 'The change stream',
            content: {
              'text/event-stream': { schema: { type: 'string' } },
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    data: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { token: { type: 'string' }, event },
                        required: ['token', 'event'],
                      },
                    },
                    next: { type: 'string', description: 'Send back as ?after= for the next poll' },
                  },
                  required: ['data', 'next'],
                },
              },
            },
          },
          ...ctx.problems(400, 401, 403, 410, 429, 500, 503),
        },
        ...ctx.security(r, 'read'),
      },
    },
  };
};

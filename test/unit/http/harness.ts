// An app over a fresh SQLite file holding the legacy fixture, for app.request() tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Hono } from 'hono';
import { openDatabase } from '../../../src/sql/database.js';
import { apiSchema, type ApiConfig } from '../../../src/config/api.js';
import type { AppEnv } from '../../../src/http/env.js';
import type { ResourceMapping } from '../../../src/core/mapping.js';
import { parseFilterParam } from '../../../src/resources/filter-grammar.js';
import type { ListRequest } from '../../../src/resources/resource-store.js';
import { createApiRuntime, createAppFromRuntime, type ApiRuntime } from '../../../src/http/server.js';
import { createApp } from '../../../src/http/app.js';
import { createLegacySchema } from '../../fixtures/rest/legacy-db.js';
import { requestJson, type Json, type TestResponse } from '../../fixtures/rest/request.js';

export interface Harness {
  readonly app: Hono<AppEnv>;
  readonly api: ApiConfig;
  readonly rt: ApiRuntime;
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

/** The fixture's `api` section as a plain object, with `database` set; `patch` edits it before parsing. */
export function fixtureApi(url: string, patch: (api: Json) => void = () => {}): ApiConfig {
  const raw: Json = parse(
    readFileSync(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8'),
  ).api;
  raw.database = url;
  patch(raw);
  return apiSchema.parse(raw);
}

export async function startHarness(patch?: (api: Json) => void, now?: () => number): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-unit-'));
  const url = `sqlite:${join(dir, 'legacy.db')}`;
  const seed = await openDatabase(url);
  await createLegacySchema(seed.knex, 'sqlite');
  await seed.close();
  const api = fixtureApi(url, patch);
  const rt = await createApiRuntime(api, []);
  const app = now
    ? createApp({ api, resources: rt.resources, databases: rt.databases, authenticate: rt.authenticate, now })
    : createAppFromRuntime(api, rt);
  return {
    app,
    api,
    rt,
    request: (method, path, init) => requestJson(app, method, path, init),
    async close() {
      await rt.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A store list request over every field of `mapping`: `params` as query filters, 5 rows. */
export function listRequest(
  mapping: ResourceMapping,
  params: Record<string, string>,
  more: Partial<ListRequest> = {},
): ListRequest {
  return {
    filters: Object.entries(params).map(([k, v]) => parseFilterParam(k, v)),
    lookup: (n) => mapping.field(n),
    order: [],
    limit: 5,
    fields: [...mapping.fields.values()],
    ...more,
  };
}

// createApp(deps) → the Hono app: resource routes from the mappings, auth, rate limits,
// OpenAPI + docs, health and metrics. No module-level state: tests call app.request().
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Registry } from 'prom-client';
import type { ApiDatabase } from '../sql/database.js';
import type { ApiConfig } from '../config/api.js';
import type { Authenticator } from './auth.js';
import { docsRoutes } from './docs.js';
import type { AppEnv } from './env.js';
import { errorMapper, type ErrorLog } from './error-mapper.js';
import { httpMetrics, observabilityRoutes } from './observability.js';
import { buildOpenApi, withServers, type ResourcePathBuilder } from './openapi.js';
import {
  MethodNotAllowedProblem,
  NotFoundProblem,
  PayloadTooLargeProblem,
  problemResponse,
  UnauthorizedProblem,
} from './problem.js';
import { clientAddress, rateLimit, RateLimiter, type RateLimitCounter } from './rate-limit.js';
import { changesHandler, type ChangeSource } from './resource-changes.js';
import { getHandler, listHandler } from './resource-reads.js';
import type { ResourceRuntime } from './resource-runtime.js';
import { createHandler, modifyHandler } from './resource-writes.js';
import type { StatusSource } from './status-board.js';
import { statusRoutes } from './status-page.js';

export interface AppDeps {
  readonly api: ApiConfig;
  readonly resources: ReadonlyMap<string, ResourceRuntime>;
  readonly databases: readonly ApiDatabase[];
  readonly authenticate: Authenticator;
  readonly registry?: Registry;
  readonly log?: ErrorLog;
  /** The change feed behind GET <basePath>/<resource>/changes; without it that route answers 503. */
  readonly feed?: ChangeSource;
  /** Clock for rate limiting (tests). */
  readonly now?: () => number;
  /** Behind GET /status and /status.json; without it those routes are not served. */
  readonly status?: StatusSource;
  /** Where rate limits count (default: this process's memory). */
  readonly rateLimitCounter?: RateLimitCounter;
  /** Extra per-resource paths for the OpenAPI document (routes added beside the resource routes). */
  readonly openApiPaths?: readonly ResourcePathBuilder[];
}

const silent: ErrorLog = { error: () => {} };

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { api } = deps;
  const base = api.basePath === '/' ? '' : api.basePath;
  const registry = deps.registry ?? new Registry();
  const app = new Hono<AppEnv>();

  app.onError(errorMapper(deps.log ?? silent));
  app.notFound((c) =>
    problemResponse(new NotFoundProblem(`no route ${c.req.method} ${c.req.path}`), c.req.path),
  );
  app.use('*', httpMetrics(registry));
  // HEAD: GET's headers without Content-Type, as the document declares no content for it (a
  // proxy that sees application/json with no body may try to parse one).
  app.use('*', async (c, next) => {
    await next();
    if (c.req.method === 'HEAD') c.res.headers.delete('content-type');
  });
  // Over HTTPS, browsers are told to use nothing else for this host.
  const hsts = api.tls && api.tls.hstsMaxAge > 0 ? `max-age=${api.tls.hstsMaxAge}; includeSubDomains` : null;
  if (hsts)
    app.use('*', async (c, next) => {
      await next();
      c.res.headers.set('strict-transport-security', hsts);
    });
  observabilityRoutes(app, deps.databases, registry);
  if (deps.status) statusRoutes(app, deps.status);

  const openapi = buildOpenApi(api, deps.resources, { pathBuilders: deps.openApiPaths ?? [] });
  app.get(`${base}/openapi.json`, (c) => c.json(withServers(openapi, api, c.req.url)));
  if (api.docs) docsRoutes(app, base);

  const guarded = `${base}/*`;
  const limitBody = bodyLimit({
    maxSize: 1024 * 1024,
    onError: (c) => problemResponse(new PayloadTooLargeProblem('the body is larger than 1 MiB'), c.req.path),
  });
  const shared = {
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.rateLimitCounter ? { counter: deps.rateLimitCounter } : {}),
  };
  const limiter = api.rateLimit
    ? new RateLimiter({ limit: api.rateLimit.limit, windowMs: api.rateLimit.window, ...shared })
    : undefined;
  const failures = api.authFailureLimit
    ? new RateLimiter({
        limit: api.authFailureLimit.limit,
        windowMs: api.authFailureLimit.window,
        scope: 'auth',
        ...shared,
      })
    : undefined;
  /**
   * Failed authentication never reaches the per-caller limit (there is no caller): it is counted
   * per client address, in the failure budget and in the address's share of `rateLimit`, so
   * guessing keys or tokens runs into 429 like any other flood.
   */
  const countFailure = async (c: Context<AppEnv>) => {
    const ip = `ip:${clientAddress(c, api.trustProxy)}`;
    await failures?.take(ip, 'failed authentications');
    await limiter?.take(ip);
  };
  // The body limit (then authentication) in one middleware, one step less on every request. The
  // limit applies only where bodies are read: bodyLimit builds the full fetch Request, which reads
  // do not need.
  app.use(guarded, (c, next) => {
    const authenticated = async () => {
      let principal;
      try {
        principal = await deps.authenticate({
          apiKey: c.req.header('x-api-key'),
          authorization: c.req.header('authorization'),
        });
      } catch (err) {
        if (err instanceof UnauthorizedProblem) await countFailure(c);
        throw err;
      }
      c.set('principal', principal);
      await next();
    };
    const m = c.req.method;
    return m === 'POST' || m === 'PUT' || m === 'PATCH' ? limitBody(c, authenticated) : authenticated();
  });
  if (limiter)
    app.use(
      guarded,
      rateLimit(limiter, (c) => c.get('principal').id || `ip:${clientAddress(c, api.trustProxy)}`),
    );

  const readDeps = {
    resources: deps.resources,
    limits: { defaultLimit: api.defaultLimit, maxLimit: api.maxLimit },
    basePath: base,
    // The `@next` link of an embed asks for this many: keep it a valid ?limit.
    embedLimit: Math.min(api.embedLimit, api.maxLimit),
  };
  const changesDeps = {
    feed: deps.feed,
    changes: api.changes,
    limits: { defaultLimit: api.defaultLimit, maxLimit: api.maxLimit },
  };
  for (const r of deps.resources.values()) {
    const collection = `${base}/${r.name}`;
    const item = `${collection}/:key{.+}`;
    // Before the item route, which would take `changes` for a key.
    app.get(`${collection}/changes`, (c) => changesHandler(c, r, changesDeps));
    app.get(collection, (c) => listHandler(c, r, readDeps));
    app.post(collection, (c) => createHandler(c, r, collection));
    app.get(item, (c) => getHandler(c, r, readDeps, collection));
    app.put(item, (c) => modifyHandler(c, r, collection, 'replace'));
    app.patch(item, (c) => modifyHandler(c, r, collection, 'patch'));
    app.delete(item, (c) => modifyHandler(c, r, collection, 'delete'));
    const notAllowed = (allow: string) => (c: Context<AppEnv>) =>
      problemResponse(new MethodNotAllowedProblem(`${c.req.method} is not allowed here`), c.req.path, {
        allow,
      });
    app.on(['PUT', 'PATCH', 'DELETE'], collection, notAllowed('GET, POST'));
    app.on(['POST'], item, notAllowed('GET, PUT, PATCH, DELETE'));
  }
  return app;
}

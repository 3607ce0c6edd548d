// Wiring from config to a listening REST service: databases, mappings, stores, policies,
// idempotency tables, authenticator, then createApp + @hono/node-server.
import type { AddressInfo } from 'node:net';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { serve } from '@hono/node-server';
import type { Registry } from 'prom-client';
import { registry as processRegistry } from '../util/metrics.js';
import { openDatabase, tlsForUrl, type ApiDatabase } from '../sql/database.js';
import { certificateError, type DbTls } from '../sql/sql-tls.js';
import { ResourceStore } from '../resources/resource-store.js';
import { resourceDatabaseUrl, type ApiConfig } from '../config/api.js';
import type { SluiceConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { ResourceMapping, type ColumnFacts } from '../core/mapping.js';
import { tableColumns } from '../sql/introspect.js';
import type { AppLogger } from '../util/logger.js';
import { ChangeFeed } from '../delivery/feed/change-feed.js';
import { ResourcePolicy } from './access.js';
import { createApp } from './app.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { IdempotencyStore } from './idempotency.js';
import type { ChangeSource } from './resource-changes.js';
import type { ResourceRuntime } from './resource-runtime.js';
import type { Hono } from 'hono';
import type { AppEnv } from './env.js';
import type { RateLimitCounter } from './rate-limit.js';
import { StatusBoard, type StatusSource } from './status-board.js';
import { httpsServerOptions, TlsReloader } from './tls-reloader.js';

export interface ApiRuntime {
  readonly resources: ReadonlyMap<string, ResourceRuntime>;
  readonly databases: readonly ApiDatabase[];
  readonly authenticate: Authenticator;
  close(): Promise<void>;
}

interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

/**
 * The columns a resource maps, read once at start through the dialect's introspector, keyed by
 * the config's column names. A mapped column the table lacks is a config problem (pushed to
 * `problems`); a database without an introspector, or one that cannot be read, leaves the
 * config alone in charge (with a warning).
 */
async function mappedColumns(
  db: ApiDatabase,
  name: string,
  cfg: ApiConfig['resources'][string],
  log: Log,
  problems: string[],
): Promise<Map<string, ColumnFacts> | undefined> {
  let cols;
  try {
    cols = await tableColumns(db, cfg.table);
  } catch (err) {
    log.warn(
      { resource: name, err: (err as Error).message },
      "the table's columns could not be read: nullability and lengths come from the config alone",
    );
    return undefined;
  }
  if (!cols) return undefined;
  const lower = new Map([...cols].map(([k, v]) => [k.toLowerCase(), v]));
  const out = new Map<string, ColumnFacts>();
  for (const [field, f] of Object.entries(cfg.fields)) {
    const c = cols.get(f.column) ?? lower.get(f.column.toLowerCase());
    if (c) out.set(f.column, c);
    else
      problems.push(`api.resources.${name}.fields.${field}.column: ${cfg.table} has no column ${f.column}`);
  }
  return out;
}

/** Whether some role may create rows of the resource (then Idempotency-Key can be used on it). */
function creatable(cfg: ApiConfig['resources'][string]): boolean {
  return !cfg.access || Object.values(cfg.access).some((a) => a.includes('create'));
}

/**
 * Opens one pool per database and builds every resource. Never changes a database: where POST is
 * allowed and the idempotency table is missing, it warns (`sluice migrate --api` installs it).
 */
export async function createApiRuntime(
  api: ApiConfig,
  sources: readonly { name: string; url?: string | undefined; tls?: DbTls | undefined }[],
  log: Log = { warn: () => {}, error: () => {} },
): Promise<ApiRuntime> {
  const authEnabled = api.auth.apiKeys.length > 0 || api.auth.jwt !== undefined;
  const authenticate = await createAuthenticator(api.auth);
  const byUrl = new Map<string, { db: ApiDatabase; idempotency: IdempotencyStore; needsInstall: boolean }>();
  const resources = new Map<string, ResourceRuntime>();
  const problems: string[] = [];
  try {
    for (const [name, cfg] of Object.entries(api.resources)) {
      const url = resourceDatabaseUrl(cfg, sources, api);
      if (url === undefined)
        throw new ConfigError(`api.resources.${name}: no database (set source, url or api.database)`);
      let entry = byUrl.get(url);
      if (!entry) {
        const db = await openDatabase(url, { log, tls: tlsForUrl(url, sources) });
        const idempotency = new IdempotencyStore(db, api.idempotency.ttl, (err) =>
          log.error({ err }, 'idempotency purge failed'),
        );
        entry = { db, idempotency, needsInstall: false };
        byUrl.set(url, entry);
      }
      const policy = new ResourcePolicy(name, cfg, authEnabled);
      const mapping = new ResourceMapping(name, cfg, await mappedColumns(entry.db, name, cfg, log, problems));
      if (creatable(cfg)) entry.needsInstall = true;
      if (policy.anonymousActions().size > 1 || (!authEnabled && !cfg.access))
        log.warn(
          { resource: name },
          'resource is writable without credentials (no api.auth, or anonymous write access)',
        );
      resources.set(name, {
        name,
        config: cfg,
        mapping,
        store: new ResourceStore(entry.db, mapping),
        policy,
        idempotency: entry.idempotency,
      });
    }
    if (problems.length > 0)
      throw new ConfigError(`the config does not match the database:\n  ${problems.join('\n  ')}`, problems);
    for (const e of byUrl.values())
      if (e.needsInstall && !(await e.idempotency.isInstalled()))
        log.warn(
          { database: e.db.dialect.name },
          'the idempotency table is not installed: POSTs with Idempotency-Key get a 501 until `sluice migrate --api`',
        );
  } catch (err) {
    await Promise.allSettled([...byUrl.values()].map((e) => e.db.close()));
    throw err;
  }
  const databases = [...byUrl.values()].map((e) => e.db);
  return {
    resources,
    databases,
    authenticate,
    async close() {
      await Promise.allSettled(databases.map((d) => d.close()));
    },
  };
}

/**
 * `sluice migrate --api`: installs (with `down`, removes) the idempotency table in each database
 * where some resource can be created. Returns what was done, per database.
 */
export async function migrateApi(
  api: ApiConfig,
  sources: readonly { name: string; url?: string | undefined; tls?: DbTls | undefined }[],
  down: boolean,
): Promise<{ database: string; done: string[] }[]> {
  const urls = new Set<string>();
  for (const [name, cfg] of Object.entries(api.resources)) {
    const url = resourceDatabaseUrl(cfg, sources, api);
    if (url === undefined)
      throw new ConfigError(`api.resources.${name}: no database (set source, url or api.database)`);
    if (creatable(cfg)) urls.add(url);
  }
  const out: { database: string; done: string[] }[] = [];
  for (const url of urls) {
    const db = await openDatabase(url, { tls: tlsForUrl(url, sources) });
    try {
      const store = new IdempotencyStore(db, api.idempotency.ttl);
      const done = down ? await store.uninstall() : await store.install();
      // The URL without its password, for the report.
      const shown = url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
      out.push({ database: shown, done });
    } finally {
      await db.close();
    }
  }
  return out;
}

export function createAppFromRuntime(
  api: ApiConfig,
  rt: ApiRuntime,
  log?: Log,
  registry?: Registry,
  feed?: ChangeSource,
  rateLimitCounter?: RateLimitCounter,
  status?: StatusSource,
): Hono<AppEnv> {
  return createApp({
    api,
    resources: rt.resources,
    databases: rt.databases,
    authenticate: rt.authenticate,
    ...(log ? { log } : {}),
    ...(registry ? { registry } : {}),
    ...(feed ? { feed } : {}),
    ...(rateLimitCounter ? { rateLimitCounter } : {}),
    ...(status ? { status } : {}),
  });
}

/**
 * With `api.limitStore.kind: nats`, the counters every REST process shares (its own NATS
 * connection, closed by `close`); otherwise none (each process counts in memory).
 */
async function sharedLimits(
  cfg: SluiceConfig,
  api: ApiConfig,
  log: AppLogger,
): Promise<{ counter?: RateLimitCounter; close(): Promise<void> }> {
  const windows = [api.rateLimit?.window ?? 0, api.authFailureLimit ? api.authFailureLimit.window : 0];
  if (api.limitStore.kind !== 'nats' || Math.max(...windows) === 0) return { close: async () => {} };
  const { connectNats } = await import('../nats/connection.js');
  const { KvRateLimitCounter } = await import('../nats/kv-rate-counter.js');
  const nc = await connectNats(cfg.nats, log, 'sluice-api-limits');
  try {
    const counter = await KvRateLimitCounter.open(nc, api.limitStore.bucket, Math.max(...windows), {
      replicas: cfg.nats.streamConfig.replicas,
      log,
    });
    return { counter, close: () => nc.drain().catch(() => {}) };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

/**
 * Starts the REST service of `cfg.api` (called by `sluice run` and `sluice serve`).
 * Resolves once listening; `url` is http://host:port (the real port when listen uses :0).
 */
export async function startApi(
  cfg: SluiceConfig,
  log: AppLogger,
): Promise<{ close(): Promise<void>; url: string }> {
  const api = cfg.api;
  if (!api) throw new ConfigError('no api section in the config');
  const rt = await createApiRuntime(api, cfg.sources, log).catch((err: unknown) => {
    // A database certificate that is not trusted is final: say so instead of a bare driver message.
    throw certificateError(err, 'the REST API cannot open its database') ?? err;
  });
  let limits;
  try {
    limits = await sharedLimits(cfg, api, log);
  } catch (err) {
    await rt.close();
    throw err;
  }
  // One registry per process: /metrics shows the sources' pipeline metrics beside the HTTP ones.
  const registry = processRegistry;
  // Connects to NATS on the first /changes request only.
  const feed = new ChangeFeed({
    nats: cfg.nats,
    buffer: api.changes.buffer,
    idleTimeout: api.changes.idleTimeout,
    log,
  });
  // GET /status: reads NATS (and the sources' databases) only while someone watches it.
  const status = new StatusBoard(cfg, { log });
  const app = createAppFromRuntime(api, rt, log, registry, feed, limits.counter, status);
  const sep = api.listen.lastIndexOf(':');
  const hostname = api.listen.slice(0, sep);
  const port = Number(api.listen.slice(sep + 1));
  let server: ReturnType<typeof serve>;
  let reloader: TlsReloader | null = null;
  try {
    const tls = api.tls
      ? { createServer: createHttpsServer, serverOptions: httpsServerOptions(api.tls) }
      : {};
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname, port, ...tls }, () => resolve(s));
      s.once('error', reject);
    });
    if (api.tls) reloader = new TlsReloader(server as HttpsServer, api.tls, log);
  } catch (err) {
    await feed.close();
    await status.close();
    await limits.close();
    await rt.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const scheme = api.tls ? 'https' : 'http';
  const url = `${scheme}://${hostname.includes(':') ? `[${hostname}]` : hostname}:${addr.port}`;
  log.info({ url, resources: [...rt.resources.keys()] }, 'REST API listening');
  return {
    url,
    async close() {
      // Open event streams end first (their clients reconnect elsewhere), or server.close waits on them.
      reloader?.close();
      await feed.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await status.close();
      await limits.close();
      await rt.close();
    },
  };
}

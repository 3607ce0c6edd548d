// One knex pool per database URL the API uses, with the dialect that speaks to it.
import type { Knex } from 'knex';
import type { SqlDialect } from './sql-dialect.js';
import { dialectForUrl } from './dialects.js';
import type { DbTls } from './sql-tls.js';

/** Where a database's state changes are logged (pino's signature). */
export interface DatabaseLog {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

/**
 * Whether the database answered last time: one structured log line per change (down, then up
 * again), however many requests fail in between.
 */
export class Availability {
  private down = false;

  constructor(
    private readonly database: string,
    private readonly log: DatabaseLog | undefined,
  ) {}

  /** A statement reached the database. */
  reached(): void {
    if (!this.down) return;
    this.down = false;
    (this.log?.info ?? this.log?.warn)?.call(
      this.log,
      { database: this.database, state: 'up' },
      'database reachable again',
    );
  }

  /** A statement failed because the database cannot be reached. */
  unreachable(err: unknown): void {
    if (this.down) return;
    this.down = true;
    const e = err as { message?: unknown; code?: unknown } | null;
    this.log?.warn(
      {
        database: this.database,
        state: 'down',
        ...(typeof e?.code === 'string' ? { code: e.code } : {}),
        error: typeof e?.message === 'string' ? e.message : String(err),
      },
      'database unreachable',
    );
  }
}

export interface ApiDatabase {
  readonly url: string;
  readonly knex: Knex;
  readonly dialect: SqlDialect;
  /** Tracks reachability; logs one line per change. */
  readonly availability?: Availability;
  /** Resolves when a trivial query succeeds (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * knex's own logger: its per-request "Acquire connection error" (a stack trace at warn) and
 * idle-connection errors are left out, since Availability reports the state change once; other
 * warnings go through `log`.
 */
function knexLog(log: DatabaseLog | undefined, database: string): Knex.Config['log'] {
  // knex's connection warnings repeat per request and per idle connection while the database is
  // down; Availability says it once. (knex gives no code for them, only this text.)
  const quiet = (msg: unknown) =>
    typeof msg === 'string' &&
    (msg.startsWith('Acquire connection error') || msg.startsWith('Connection Error'));
  return {
    warn: (msg: unknown) => {
      if (!quiet(msg)) log?.warn({ database }, String(msg));
    },
    error: (msg: unknown) => log?.warn({ database }, String(msg)),
    deprecate: (msg: unknown) => log?.warn({ database }, String(msg)),
    debug: () => {},
  };
}

/** The `tls` of the source or sink whose URL is `url` (the API reads the databases they name). */
export function tlsForUrl(
  url: string,
  configured: readonly { url?: string | undefined; tls?: DbTls | undefined }[],
): DbTls | undefined {
  return configured.find((c) => c.url === url && c.tls !== undefined)?.tls;
}

export async function openDatabase(
  url: string,
  options: { log?: DatabaseLog; tls?: DbTls | undefined } = {},
): Promise<ApiDatabase> {
  const dialect = await dialectForUrl(url);
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory({
    ...(await dialect.knexConfig(url, options.tls)),
    log: knexLog(options.log, dialect.name),
  });
  const availability = new Availability(dialect.name, options.log);
  return {
    url,
    knex,
    dialect,
    availability,
    async ping() {
      try {
        await knex.raw(dialect.pingSql);
      } catch (err) {
        if (dialect.isUnavailable(err)) availability.unreachable(err);
        throw err;
      }
      availability.reached();
    },
    async close() {
      await knex.destroy();
    },
  };
}

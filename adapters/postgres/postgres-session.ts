// What the snapshot and the stream share: connections with the right session settings, the
// resolved tables with their keys, the type decoders, and how an event is put together.
import pg from 'pg';
import {
  makeChange,
  type ChangeInput,
  type ChangeOrigin,
  type SourceChange,
} from '../../src/core/change-event.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { VERSION } from '../../src/version.js';
import { postgresSsl } from '../../src/sql/postgres/postgres-dialect.js';
import type { PostgresSourceConfig } from './config.js';
import { tableInfo, type TableInfo } from './postgres-catalog.js';
import { classifyPgError } from './postgres-errors.js';
import { SESSION_OPTIONS, TYPE_INFO_SQL, TypeDecoders, type TypeInfo } from './postgres-types.js';

/** Every pg-types parser off: values arrive as PostgreSQL's text and go through TypeDecoders. */
export const RAW_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export class PgSession {
  readonly types = new TypeDecoders();
  readonly tables = new Map<string, TableInfo>();
  readonly slot: string;
  readonly publication: string;
  readonly db: string;

  constructor(
    readonly cfg: PostgresSourceConfig,
    readonly log: Logger,
  ) {
    this.slot = cfg.slot ?? `sluice_${cfg.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
    this.publication = cfg.publication ?? this.slot;
    this.db = decodeURIComponent(new URL(cfg.url).pathname.replace(/^\//, '')) || 'postgres';
  }

  clientConfig(replication = false): pg.ClientConfig {
    return {
      connectionString: this.cfg.url,
      options: SESSION_OPTIONS,
      application_name: `sluice:${this.cfg.name}`,
      types: RAW_TYPES,
      connectionTimeoutMillis: 10_000,
      ...postgresSsl(this.cfg.tls),
      ...(replication ? { replication: 'database' } : {}),
    };
  }

  async connect(replication = false): Promise<pg.Client> {
    const c = new pg.Client(this.clientConfig(replication));
    c.on('error', () => {}); // surfaced by the failing query instead
    try {
      await c.connect();
    } catch (err) {
      throw classifyPgError(err, `cannot connect to ${this.cfg.name}`);
    }
    return c;
  }

  /** Loads (or reloads) a table's columns and key. */
  async loadTable(client: pg.ClientBase, qualified: string): Promise<TableInfo | null> {
    const info = await tableInfo(client, qualified);
    if (info) this.tables.set(qualified, info);
    return info;
  }

  /** Teaches the decoders any type OID they cannot place (enums, domains, their arrays). */
  async learnTypes(client: pg.ClientBase, oids: Iterable<number>): Promise<void> {
    const unknown = this.types.unknown(oids);
    if (unknown.length === 0) return;
    const { rows } = await client.query<TypeInfo>(TYPE_INFO_SQL, [unknown]);
    this.types.learn(
      rows.map((r) => ({ ...r, oid: Number(r.oid), elem: Number(r.elem), base: Number(r.base) })),
    );
    // An OID the catalog does not know is decoded as text; remember it so we do not ask again.
    const got = new Set(rows.map((r) => Number(r.oid)));
    this.types.learn(
      unknown
        .filter((o) => !got.has(o))
        .map((oid) => ({ oid, typtype: 'b', elem: 0, base: 0, category: 'S' })),
    );
  }

  keyOf(
    table: TableInfo | undefined,
    row: Readonly<Record<string, unknown>>,
    fallback: readonly string[],
  ): Record<string, unknown> {
    const cols = table && table.key.length > 0 ? table.key : fallback;
    const key: Record<string, unknown> = {};
    for (const c of cols) key[c] = row[c];
    return key;
  }

  #origin: ChangeOrigin<'postgres'> | null = null;

  change(e: ChangeInput<'postgres'>): SourceChange {
    this.#origin ??= { connector: 'postgres', source: this.cfg.name, version: VERSION, db: this.db };
    return makeChange(this.#origin, e);
  }
}

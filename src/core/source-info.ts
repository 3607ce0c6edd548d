// The `source` block of a change event, one zod schema per connector, spelled as Debezium spells
// it (README.md "Change events"). The blocks share Debezium's common fields and differ in how they
// name a position in the source's log; `connector` tells them apart.
import { z } from 'zod';

/** Debezium's common fields, the same for every connector. */
const common = {
  version: z.string(),
  name: z.string(),
  ts_ms: z.number().int(),
  snapshot: z.enum(['true', 'false', 'last', 'incremental']),
  db: z.string(),
  schema: z.string(),
  table: z.string(),
  /** Columns the source did not send (PostgreSQL unchanged TOAST): absent from `after`, never faked. */
  unavailable: z.array(z.string()).optional(),
};

/** Keys of the common block: everything else in a `source` block belongs to its connector. */
export const commonSourceKeys: readonly string[] = ['connector', ...Object.keys(common)];

/**
 * PostgreSQL logical replication. `lsn` is the change's WAL position as PostgreSQL prints it
 * (`0/16B3748`); snapshot reads have none.
 */
export const postgresSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('postgres'),
  lsn: z.string().optional(),
  txId: z.number().int().optional(),
  xmin: z.number().int().nullable().optional(),
});

/**
 * MySQL/MariaDB binlog: the binlog file and the position where the change's transaction starts
 * (where a restart reads it again; the snapshot's position for reads), the row within its rows
 * event, the transaction's GTID, the originating server and, where the binlog says, the thread.
 * `zero_dates` names columns whose zero date (`0000-00-00`) is sent as null.
 */
export const mysqlSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('mysql'),
  file: z.string(),
  pos: z.number().int().nonnegative(),
  row: z.number().int().nonnegative(),
  gtid: z.string().nullable().optional(),
  server_id: z.number().int().nonnegative(),
  thread: z.number().int().nullable().optional(),
  zero_dates: z.array(z.string()).optional(),
});

/** SQL Server CDC: LSNs as hex strings (`00000025:00000448:0003`); snapshot reads have no change_lsn. */
export const sqlserverSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('sqlserver'),
  change_lsn: z.string().nullable().optional(),
  commit_lsn: z.string().nullable().optional(),
  event_serial_no: z.number().int().nullable().optional(),
});

/**
 * Oracle LogMiner. SCNs are strings (they pass 2^53), and so is `txId`: Oracle's transaction id
 * is a hex string (`0a001b00c3120000`), not a number. `scn` is the change's own SCN (the snapshot's
 * for reads), `redo_thread` the RAC thread of its commit, `user_name` the session user that made it.
 */
export const oracleSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('oracle'),
  scn: z.string(),
  commit_scn: z.string().nullable().optional(),
  txId: z.string().nullable().optional(),
  rs_id: z.string().nullable().optional(),
  ssn: z.number().int().nullable().optional(),
  redo_thread: z.number().int().nullable().optional(),
  user_name: z.string().nullable().optional(),
});

/**
 * Polling: `cursor` is the cursor column's value the row was read at (incrementing and timestamp
 * tables, as text so no digit is lost); diff tables and snapshot reads have none.
 */
export const pollingSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('polling'),
  cursor: z.string().optional(),
});

/**
 * Triggers: the changelog entry the change was read from (`seq`, as text: a bigint column), and
 * the writing transaction's id where the database gives one as a safe integer (PostgreSQL's xid8).
 */
export const triggersSourceSchema = z.looseObject({
  ...common,
  connector: z.literal('triggers'),
  seq: z.string().optional(),
  txId: z.number().int().optional(),
});

export const sourceInfoSchema = z.discriminatedUnion('connector', [
  postgresSourceSchema,
  mysqlSourceSchema,
  sqlserverSourceSchema,
  oracleSourceSchema,
  pollingSourceSchema,
  triggersSourceSchema,
]);

export type SourceInfo = z.infer<typeof sourceInfoSchema>;
export type Connector = SourceInfo['connector'];
export type PostgresSourceInfo = z.infer<typeof postgresSourceSchema>;
export type MysqlSourceInfo = z.infer<typeof mysqlSourceSchema>;
export type SqlserverSourceInfo = z.infer<typeof sqlserverSourceSchema>;
export type OracleSourceInfo = z.infer<typeof oracleSourceSchema>;
export type PollingSourceInfo = z.infer<typeof pollingSourceSchema>;
export type TriggersSourceInfo = z.infer<typeof triggersSourceSchema>;

type CommonKey = 'connector' | keyof typeof common;
/**
 * The fields a connector adds to the common block, for `makeChange`. Index signatures from the
 * loose objects are dropped, so an adapter cannot pass a field its connector does not have.
 */
export type ConnectorFields<C extends Connector> = C extends Connector
  ? {
      [
        K in keyof Extract<SourceInfo, { connector: C }> as string extends K
          ? never
          : K extends CommonKey
            ? never
            : K
      ]: Extract<SourceInfo, { connector: C }>[K];
    }
  : never;

/** Per connector, the keys its schema adds to the common block, in schema order. */
export const connectorFieldKeys: { readonly [C in Connector]: readonly string[] } = Object.freeze(
  Object.fromEntries(
    sourceInfoSchema.options.map((s) => [
      s.shape.connector.value,
      Object.keys(s.shape).filter((k) => !commonSourceKeys.includes(k)),
    ]),
  ) as unknown as { [C in Connector]: readonly string[] },
);

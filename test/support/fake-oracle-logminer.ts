// A fake Oracle behind a fake oracledb driver (no Oracle runs here): it answers the queries the
// `oracle` adapter sends from recorded rows, in oracledb's shapes. Values are recorded as the wire
// carries them, and the fake converts them the way oracledb would under the caller's
// fetchTypeHandler (the real module's DB_TYPE_* constants): a NUMBER is a string only when the
// handler asked for oracledb.STRING, otherwise a lossy JS number; a DATE is a JS Date; RAW a
// Buffer. V$LOGMNR_CONTENTS rows are filtered by the SCN window the adapter bound, as the server
// would, so windows and resumes are exercised for real.
import { createRequire } from 'node:module';
import type { OracleConnection, OracleDriver, OracleRow } from '../../adapters/oracle/oracle-session.js';

const oracledb = createRequire(import.meta.url)('oracledb') as Record<string, unknown> & OracleDriver;

export type WireType = 'NUMBER' | 'VARCHAR' | 'NVARCHAR' | 'CHAR' | 'DATE' | 'RAW' | 'CLOB' | 'TIMESTAMP';

export interface RecordedSet {
  readonly columns: Readonly<Record<string, WireType>>;
  readonly rows: readonly Record<string, unknown>[];
}

/** One V$LOGMNR_CONTENTS row as recorded (NUMBER columns as their decimal text). */
export interface RecordedRedo {
  SCN: string;
  OPERATION_CODE: string;
  XID: string;
  THREAD?: string;
  SEG_OWNER?: string | null;
  TABLE_NAME?: string | null;
  SQL_REDO?: string | null;
  CSF?: string;
  RS_ID?: string | null;
  SSN?: string | null;
  ROLLBACK?: string;
  ROW_ID?: string | null;
  USERNAME?: string | null;
  TIMESTAMP?: Date | null;
}

const REDO_COLUMNS: Record<string, WireType> = {
  SCN: 'NUMBER',
  OPERATION_CODE: 'NUMBER',
  XID: 'VARCHAR',
  THREAD: 'NUMBER',
  SEG_OWNER: 'VARCHAR',
  TABLE_NAME: 'VARCHAR',
  SQL_REDO: 'VARCHAR',
  CSF: 'NUMBER',
  RS_ID: 'VARCHAR',
  SSN: 'NUMBER',
  ROLLBACK: 'NUMBER',
  ROW_ID: 'VARCHAR',
  USERNAME: 'VARCHAR',
  TIMESTAMP: 'DATE',
};

export interface FakeOracleWorld {
  /** Answers CURRENT_SCN reads in turn; the last one repeats. */
  currentScns: string[];
  /** V$TRANSACTION's MIN(START_SCN), null when nothing is open. */
  oldestOpenScn: string | null;
  logMode: string;
  supplementalMin: string;
  supplementalAll: string;
  privileges: string[];
  roles: string[];
  /** OWNER.TABLE → columns (ALL_TAB_COLUMNS rows) and primary key. */
  tables: Record<
    string,
    {
      columns: {
        COLUMN_NAME: string;
        DATA_TYPE: string;
        DATA_PRECISION?: string | null;
        DATA_SCALE?: string | null;
      }[];
      key: string[];
      allColumnLogging: boolean;
      /** Rows the snapshot reads, in key order, as the SELECT list returns them (dates as text). */
      rows: Record<string, unknown>[];
      types: Record<string, WireType>;
    }
  >;
  /** Online and archived logs: NAME, THREAD, SEQ, FIRST_SCN, NEXT_SCN. */
  logs: { NAME: string; THREAD: string; SEQ: string; FIRST_SCN: string; NEXT_SCN: string | null }[];
  redo: RecordedRedo[];
}

export interface FakeOracle {
  readonly driver: OracleDriver;
  /** Every statement sent, with its binds. */
  readonly sent: { sql: string; binds: unknown }[];
  /** [lo, hi] of each START_LOGMNR. */
  readonly windows: [string, string][];
  readonly world: FakeOracleWorld;
  /** Set to make the next query fail with this error. */
  failNext: Error | null;
  /** Called with each statement before it is answered. */
  onQuery: ((sql: string) => void) | null;
}

/** What oracledb hands back for one value of a column, under the caller's fetchTypeHandler. */
function deliver(
  type: WireType,
  v: string | number | Date | Buffer | null | undefined,
  handler: ((m: { dbType: unknown }) => { type: unknown } | undefined) | undefined,
): unknown {
  if (v === null || v === undefined) return null;
  const dbType = oracledb[`DB_TYPE_${type}`];
  const asked = handler?.({ dbType })?.type;
  switch (type) {
    case 'NUMBER':
      return asked === oracledb.STRING ? String(v) : Number(v);
    case 'CLOB':
      if (asked === oracledb.STRING) return String(v);
      return { type: oracledb.DB_TYPE_CLOB, getData: () => Promise.resolve(String(v)) }; // a Lob
    case 'DATE':
    case 'TIMESTAMP':
      return v instanceof Date ? v : new Date(String(v));
    case 'RAW':
      return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'hex');
    default:
      return String(v);
  }
}

export function fakeOracle(world: FakeOracleWorld): FakeOracle {
  const sent: { sql: string; binds: unknown }[] = [];
  const windows: [string, string][] = [];
  let scnCalls = 0;
  const fake: FakeOracle = {
    driver: undefined as unknown as OracleDriver,
    sent,
    windows,
    world,
    failNext: null,
    onQuery: null,
  };

  const answer = (sql: string, binds: unknown[]): RecordedSet => {
    const one = (columns: Record<string, WireType>, row: Record<string, unknown>): RecordedSet => ({
      columns,
      rows: [row],
    });
    const none: RecordedSet = { columns: {}, rows: [] };
    if (/^ALTER SESSION/.test(sql) || /DBMS_LOGMNR\.(ADD_LOGFILE|END_LOGMNR)/.test(sql)) return none;
    if (/DBMS_LOGMNR\.START_LOGMNR/.test(sql)) {
      windows.push([String(binds[0]), String(binds[1])]);
      return none;
    }
    if (sql === 'SELECT CURRENT_SCN FROM V$DATABASE') {
      const scn = world.currentScns[Math.min(scnCalls++, world.currentScns.length - 1)]!;
      return one({ CURRENT_SCN: 'NUMBER' }, { CURRENT_SCN: scn });
    }
    if (sql.includes('LOG_MODE'))
      return one(
        {
          LOG_MODE: 'VARCHAR',
          SUPPLEMENTAL_LOG_DATA_MIN: 'VARCHAR',
          SUPPLEMENTAL_LOG_DATA_ALL: 'VARCHAR',
          CURRENT_SCN: 'NUMBER',
        },
        {
          LOG_MODE: world.logMode,
          SUPPLEMENTAL_LOG_DATA_MIN: world.supplementalMin,
          SUPPLEMENTAL_LOG_DATA_ALL: world.supplementalAll,
          CURRENT_SCN: world.currentScns[0],
        },
      );
    if (sql.includes('FROM SESSION_PRIVS'))
      return { columns: { PRIVILEGE: 'VARCHAR' }, rows: world.privileges.map((p) => ({ PRIVILEGE: p })) };
    if (sql.includes('FROM SESSION_ROLES'))
      return { columns: { ROLE: 'VARCHAR' }, rows: world.roles.map((r) => ({ ROLE: r })) };
    if (sql.includes('FROM ALL_TABLES')) {
      const [owner, like] = binds as [string, string];
      const re = new RegExp(`^${like.replace(/%/g, '.*')}$`);
      const rows = Object.keys(world.tables)
        .map((q) => q.split('.') as [string, string])
        .filter(([o, t]) => o === owner && re.test(t))
        .map(([o, t]) => ({ OWNER: o, TABLE_NAME: t }));
      return { columns: { OWNER: 'VARCHAR', TABLE_NAME: 'VARCHAR' }, rows };
    }
    const table = () => world.tables[`${String(binds[0])}.${String(binds[1])}`];
    if (sql.includes('FROM ALL_TAB_COLUMNS'))
      return {
        columns: {
          COLUMN_NAME: 'VARCHAR',
          DATA_TYPE: 'VARCHAR',
          DATA_PRECISION: 'NUMBER',
          DATA_SCALE: 'NUMBER',
        },
        rows: table()?.columns ?? [],
      };
    if (sql.includes('JOIN ALL_CONS_COLUMNS'))
      return {
        columns: { COLUMN_NAME: 'VARCHAR' },
        rows: (table()?.key ?? []).map((k) => ({ COLUMN_NAME: k })),
      };
    if (sql.includes('1 AS HAS FROM ALL_CONSTRAINTS'))
      return { columns: { HAS: 'NUMBER' }, rows: table()?.key.length ? [{ HAS: '1' }] : [] };
    if (sql.includes('FROM ALL_LOG_GROUPS'))
      return {
        columns: { LOG_GROUP_TYPE: 'VARCHAR' },
        rows: table()?.allColumnLogging ? [{ LOG_GROUP_TYPE: 'ALL COLUMN LOGGING' }] : [],
      };
    if (sql.includes('FROM V$TRANSACTION'))
      return one({ START_SCN: 'NUMBER' }, { START_SCN: world.oldestOpenScn });
    if (sql.includes('FROM V$LOG l'))
      return {
        columns: {
          NAME: 'VARCHAR',
          THREAD: 'NUMBER',
          SEQ: 'NUMBER',
          FIRST_SCN: 'NUMBER',
          NEXT_SCN: 'NUMBER',
        },
        rows: world.logs,
      };
    if (sql.includes('FROM V$ARCHIVED_LOG'))
      return { columns: { FIRST_SCN: 'NUMBER' }, rows: [{ FIRST_SCN: world.logs[0]?.FIRST_SCN ?? null }] };
    if (sql.includes('FROM V$LOGMNR_CONTENTS')) {
      const lo = BigInt(String(binds[binds.length - 2]));
      const hi = BigInt(String(binds[binds.length - 1]));
      const pairs: string[] = [];
      for (let i = 0; i < binds.length - 2; i += 2) pairs.push(`${String(binds[i])}.${String(binds[i + 1])}`);
      const rows = world.redo.filter((r) => {
        const scn = BigInt(r.SCN);
        if (scn < lo || scn >= hi) return false;
        if (['6', '7', '36'].includes(r.OPERATION_CODE)) return true;
        return pairs.includes(`${r.SEG_OWNER}.${r.TABLE_NAME}`);
      });
      return { columns: REDO_COLUMNS, rows: rows as unknown as Record<string, unknown>[] };
    }
    const asOf = /FROM "([^"]+)"\."([^"]+)" AS OF SCN :1/.exec(sql);
    if (asOf) {
      const t = world.tables[`${asOf[1]}.${asOf[2]}`]!;
      let rows = t.rows;
      // keyset bound on a one-column key (what the recorded tables have)
      if (binds.length > 1) rows = rows.filter((r) => Number(r[t.key[0]!]) > Number(binds[1]));
      const limit = Number(/FETCH FIRST (\d+) ROWS/.exec(sql)?.[1] ?? rows.length);
      return { columns: t.types, rows: rows.slice(0, limit) };
    }
    throw Object.assign(
      new Error(`ORA-00942: table or view does not exist (fake: no recording for ${sql.slice(0, 80)})`),
      {
        errorNum: 942,
        code: 'ORA-00942',
      },
    );
  };

  const connection: OracleConnection = {
    oracleServerVersionString: '23.5.0.24.7',
    execute(sql, binds, options) {
      sent.push({ sql, binds });
      fake.onQuery?.(sql);
      if (fake.failNext) {
        const err = fake.failNext;
        fake.failNext = null;
        return Promise.reject(err);
      }
      let set: RecordedSet;
      try {
        set = answer(sql, binds as unknown[]);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      const handler = options.fetchTypeHandler as Parameters<typeof deliver>[2];
      const rows: OracleRow[] = set.rows.map((r) => {
        const out: OracleRow = {};
        for (const [name, type] of Object.entries(set.columns))
          out[name] = deliver(type, r[name] as OracleRow[string], handler) as OracleRow[string];
        return out;
      });
      if (!options.resultSet) return Promise.resolve({ rows });
      let at = 0;
      return Promise.resolve({
        resultSet: {
          getRows: (n: number) => {
            const page = rows.slice(at, at + n);
            at += page.length;
            return Promise.resolve(page);
          },
          close: () => Promise.resolve(),
        },
      });
    },
    close: () => Promise.resolve(),
  };
  (fake as { driver: OracleDriver }).driver = {
    DB_TYPE_NUMBER: oracledb.DB_TYPE_NUMBER,
    DB_TYPE_CLOB: oracledb.DB_TYPE_CLOB,
    DB_TYPE_NCLOB: oracledb.DB_TYPE_NCLOB,
    DB_TYPE_BLOB: oracledb.DB_TYPE_BLOB,
    STRING: oracledb.STRING,
    BUFFER: oracledb.BUFFER,
    OUT_FORMAT_OBJECT: oracledb.OUT_FORMAT_OBJECT,
    getConnection: () => Promise.resolve(connection),
  };
  return fake;
}

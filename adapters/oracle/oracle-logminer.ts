// One LogMiner session over an SCN window: the redo logs that cover it (online ones from
// V$LOG/V$LOGFILE, archived ones from V$ARCHIVED_LOG: CONTINUOUS_MINE is gone since 19c), started
// with the online catalog as dictionary, its rows read from V$LOGMNR_CONTENTS, then ended.
import { OffsetLostError } from '../../src/core/errors.js';
import { compareScn } from './oracle-offset.js';
import { resnapshotHint } from './oracle-errors.js';
import type { OracleRow, OracleSession, OracleValue } from './oracle-session.js';

/** V$LOGMNR_CONTENTS.OPERATION_CODE values the adapter acts on. */
export const OP = {
  INSERT: 1,
  DELETE: 2,
  UPDATE: 3,
  DDL: 5,
  START: 6,
  COMMIT: 7,
  SELECT_LOB_LOCATOR: 9,
  LOB_WRITE: 10,
  LOB_TRIM: 11,
  LOB_ERASE: 29,
  MISSING_SCN: 34,
  ROLLBACK: 36,
  UNSUPPORTED: 255,
} as const;

export interface RedoLog {
  readonly name: string;
  readonly thread: number;
  readonly sequence: string;
  readonly firstScn: string;
  /** NEXT_CHANGE#: the first SCN after this log (very large for the current online log). */
  readonly nextScn: string;
}

/** One row of V$LOGMNR_CONTENTS, its NUMBER columns read as strings (oracle-types fetchTypeHandler). */
export interface RedoRow {
  readonly scn: string;
  readonly operationCode: number;
  readonly xid: string;
  readonly thread: number;
  readonly owner: string | null;
  readonly table: string | null;
  readonly sqlRedo: string | null;
  /** Continuation flag: this SQL_REDO goes on in the next row. */
  readonly csf: boolean;
  readonly rsId: string | null;
  readonly ssn: number | null;
  /** 1 when this row undoes an earlier one of its transaction (rollback to savepoint). */
  readonly rollback: boolean;
  readonly rowId: string | null;
  readonly user: string | null;
  /** The redo record's time (a DATE: oracledb hands a JS Date). */
  readonly timestamp: Date | null;
}

const str = (v: OracleValue) => (v === null || v === undefined ? null : String(v));
const int = (v: OracleValue) => (v === null || v === undefined ? null : Number(v));

export function toRedoRow(r: OracleRow): RedoRow {
  return {
    scn: String(r.SCN),
    operationCode: Number(r.OPERATION_CODE),
    xid: String(r.XID ?? ''),
    thread: Number(r.THREAD ?? 1),
    owner: str(r.SEG_OWNER),
    table: str(r.TABLE_NAME),
    sqlRedo: str(r.SQL_REDO),
    csf: Number(r.CSF ?? 0) === 1,
    rsId: str(r.RS_ID)?.trim() ?? null,
    ssn: int(r.SSN),
    rollback: Number(r.ROLLBACK ?? 0) === 1,
    rowId: str(r.ROW_ID),
    user: str(r.USERNAME),
    timestamp: r.TIMESTAMP instanceof Date ? r.TIMESTAMP : null,
  };
}

/** The database's current SCN (the upper end of the next window). */
export async function currentScn(s: OracleSession): Promise<string> {
  const [r] = await s.rows('SELECT CURRENT_SCN FROM V$DATABASE');
  return String(r?.CURRENT_SCN);
}

/**
 * The logs holding redo from `lo` up to `hi`, one member per online group, archived copies of the
 * rest. Throws OFFSET_LOST when some redo thread's oldest available log starts after `lo`: the
 * redo a restart needs was deleted (archived log retention, RMAN), so mining on would skip changes.
 */
export async function logsFor(s: OracleSession, lo: string, hi: string): Promise<RedoLog[]> {
  const rows = await s.rows(
    `SELECT MIN(f.MEMBER) AS NAME, l.THREAD# AS THREAD, l.SEQUENCE# AS SEQ, l.FIRST_CHANGE# AS FIRST_SCN,
            l.NEXT_CHANGE# AS NEXT_SCN
       FROM V$LOG l JOIN V$LOGFILE f ON f.GROUP# = l.GROUP#
      WHERE l.STATUS <> 'UNUSED'
      GROUP BY l.THREAD#, l.SEQUENCE#, l.FIRST_CHANGE#, l.NEXT_CHANGE#
     UNION ALL
     SELECT MIN(a.NAME), a.THREAD#, a.SEQUENCE#, a.FIRST_CHANGE#, a.NEXT_CHANGE#
       FROM V$ARCHIVED_LOG a
      WHERE a.NAME IS NOT NULL AND a.DELETED = 'NO' AND a.STATUS = 'A' AND a.STANDBY_DEST = 'NO'
      GROUP BY a.THREAD#, a.SEQUENCE#, a.FIRST_CHANGE#, a.NEXT_CHANGE#`,
  );
  const bySeq = new Map<string, RedoLog>();
  for (const r of rows) {
    const log: RedoLog = {
      name: String(r.NAME),
      thread: Number(r.THREAD),
      sequence: String(r.SEQ),
      firstScn: String(r.FIRST_SCN),
      nextScn: String(r.NEXT_SCN ?? '18446744073709551615'),
    };
    const k = `${log.thread}:${log.sequence}`;
    if (!bySeq.has(k)) bySeq.set(k, log); // online first: it is never older than its archive
  }
  const all = [...bySeq.values()];
  const threads = new Set(all.map((l) => l.thread));
  for (const t of threads) {
    const own = all.filter((l) => l.thread === t);
    const oldest = own.reduce((a, b) => (compareScn(a.firstScn, b.firstScn) <= 0 ? a : b));
    if (compareScn(oldest.firstScn, lo) > 0)
      throw new OffsetLostError(
        `source ${s.cfg.name}: the redo from SCN ${lo} is gone (the oldest log of redo thread ${t} starts at SCN ${oldest.firstScn}; archived logs were deleted); ${resnapshotHint(s.cfg.name)}`,
      );
  }
  return all
    .filter((l) => compareScn(l.nextScn, lo) > 0 && compareScn(l.firstScn, hi) <= 0)
    .sort((a, b) => a.thread - b.thread || compareScn(a.firstScn, b.firstScn));
}

/** Rows of these operations or on these tables; everything else of the redo stays on the server. */
function contentsQuery(tables: readonly { owner: string; name: string }[]): {
  sql: string;
  binds: unknown[];
} {
  const binds: unknown[] = [];
  const pairs = tables.map((t) => {
    binds.push(t.owner, t.name);
    return `(SEG_OWNER = :${binds.length - 1} AND TABLE_NAME = :${binds.length})`;
  });
  const sql = `SELECT SCN, OPERATION_CODE, RAWTOHEX(XID) AS XID, THREAD# AS THREAD, SEG_OWNER, TABLE_NAME,
         SQL_REDO, CSF, RS_ID, SSN, ROLLBACK, ROW_ID, USERNAME, TIMESTAMP
    FROM V$LOGMNR_CONTENTS
   WHERE SCN >= :${binds.length + 1} AND SCN < :${binds.length + 2}
     AND (OPERATION_CODE IN (${OP.START}, ${OP.COMMIT}, ${OP.ROLLBACK})${pairs.length ? ` OR ${pairs.join(' OR ')}` : ''})`;
  return { sql, binds };
}

/**
 * Mines [lo, hi): adds the logs, starts LogMiner (online catalog, no ROWID in SQL_REDO, every
 * transaction's rows in redo order: this adapter buffers transactions itself, see
 * oracle-transaction-buffer.ts), reads the rows and always ends the session.
 */
export async function* mineWindow(
  s: OracleSession,
  lo: string,
  hi: string,
  tables: readonly { owner: string; name: string }[],
): AsyncGenerator<RedoRow> {
  const logs = await logsFor(s, lo, hi);
  let first = true;
  for (const l of logs) {
    await s.run(
      `BEGIN SYS.DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :1, OPTIONS => ${first ? 'SYS.DBMS_LOGMNR.NEW' : 'SYS.DBMS_LOGMNR.ADDFILE'}); END;`,
      [l.name],
    );
    first = false;
  }
  await s.run(
    `BEGIN SYS.DBMS_LOGMNR.START_LOGMNR(STARTSCN => :1, ENDSCN => :2,
       OPTIONS => SYS.DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG + SYS.DBMS_LOGMNR.NO_ROWID_IN_STMT); END;`,
    [lo, hi],
  );
  try {
    const q = contentsQuery(tables);
    for await (const page of s.stream(q.sql, [...q.binds, lo, hi])) for (const r of page) yield toRedoRow(r);
  } finally {
    await s.run('BEGIN SYS.DBMS_LOGMNR.END_LOGMNR; END;').catch(() => {});
  }
}

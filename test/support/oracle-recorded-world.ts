// Recorded Oracle state for the `oracle` adapter's tests: catalog rows, logs and V$LOGMNR_CONTENTS
// rows of five transactions, in oracledb's shapes (see fake-oracle-logminer.ts). A: insert with
// every type, SQL_REDO in two continuation rows; B: update on redo thread 2, committed at A's SCN;
// C: rolled back; D: opened first, committed last, spanning mining windows; E: a savepoint rollback.
import type { FakeOracleWorld, RecordedRedo } from './fake-oracle-logminer.js';

export const T = new Date('2026-11-28T10:00:00Z');
export const ins = (
  scn: string,
  xid: string,
  sql: string,
  extra: Partial<RecordedRedo> = {},
): RecordedRedo => ({
  SCN: scn,
  OPERATION_CODE: '1',
  XID: xid,
  THREAD: '1',
  SEG_OWNER: 'APP',
  TABLE_NAME: 'CUSTOMERS',
  SQL_REDO: sql,
  CSF: '0',
  RS_ID: ` 0x00000b.0000${scn}.0010 `,
  SSN: '0',
  ROLLBACK: '0',
  USERNAME: 'APPUSER',
  TIMESTAMP: T,
  ...extra,
});
export const ctl = (scn: string, code: '6' | '7' | '36', xid: string, thread = '1'): RecordedRedo => ({
  SCN: scn,
  OPERATION_CODE: code,
  XID: xid,
  THREAD: thread,
  SEG_OWNER: null,
  TABLE_NAME: null,
  SQL_REDO: code === '6' ? 'set transaction read write;' : code === '7' ? 'commit;' : 'rollback;',
  TIMESTAMP: new Date(T.getTime() + Number(scn)),
});

const COLS = `"ID","NAME","NOTE","BAL","BIG","CREATED","UPDATED","SEEN","PHOTO","DOC"`;

/** The recorded redo: transactions A, B (same commit SCN, two threads), C (rolled back), D (spans windows), E (savepoint rollback). */
export function redo(): RecordedRedo[] {
  const longInsert = `insert into "APP"."CUSTOMERS"(${COLS}) values ('2','O''Brien, and sons',UNISTR('caf\\00e9'),'.5','123456789012345678901234567890',TO_DATE('2026-11-02 09:30:00', 'YYYY-MM-DD HH24:MI:SS'),TO_TIMESTAMP_TZ('2026-11-02 09:30:00.123456000 +02:00'),TO_TIMESTAMP('2026-11-02 07:30:00.000001000'),HEXTORAW('00ff'),EMPTY_CLOB());`;
  const cut = 60;
  return [
    ctl('1001', '6', 'D1'),
    ins('1002', 'D1', `insert into "APP"."CUSTOMERS"("ID","NAME") values ('10','late');`, { ROW_ID: 'R10' }),
    ctl('1003', '6', 'A1'),
    // SQL_REDO split across continuation rows (CSF = 1), cut inside a quoted value.
    ins('1003', 'A1', longInsert.slice(0, cut), { CSF: '1' }),
    ins('1003', 'A1', longInsert.slice(cut), { ROW_ID: 'R2' }),
    ctl('1004', '6', 'B1', '2'),
    ins(
      '1004',
      'B1',
      `update "APP"."CUSTOMERS" set "NAME" = 'ACME ''NEW''' where "ID" = '1' and "NAME" = 'ACME  ' and "NOTE" IS NULL and "BAL" = '.5';`,
      { THREAD: '2', ROW_ID: 'R1' },
    ),
    ctl('1004', '6', 'C1'),
    ins('1004', 'C1', `insert into "APP"."CUSTOMERS"("ID") values ('99');`, { ROW_ID: 'R99' }),
    ins('1004', 'C1', `insert into "OTHER"."T"("ID") values ('1');`, { SEG_OWNER: 'OTHER', TABLE_NAME: 'T' }),
    // Redo order puts thread 2's commit first; the published order is (commit SCN, thread, txId).
    ctl('1005', '7', 'B1', '2'),
    ctl('1005', '7', 'A1'),
    ctl('1006', '36', 'C1'),
    ctl('1007', '6', 'E1'),
    ins('1007', 'E1', `insert into "APP"."CUSTOMERS"("ID","NAME") values ('3','three');`, { ROW_ID: 'R3' }),
    ins('1007', 'E1', `insert into "APP"."CUSTOMERS"("ID","NAME") values ('4','four');`, { ROW_ID: 'R4' }),
    // ROLLBACK TO SAVEPOINT: LogMiner's undo row for the insert of R4.
    ins('1008', 'E1', `delete from "APP"."CUSTOMERS" where "ID" = '4' and "NAME" = 'four';`, {
      OPERATION_CODE: '2',
      ROLLBACK: '1',
      ROW_ID: 'R4',
    }),
    ins('1008', 'E1', `delete from "APP"."CUSTOMERS" where "ID" = '1' and "NAME" = 'ACME ''NEW''';`, {
      OPERATION_CODE: '2',
      ROW_ID: 'R1',
    }),
    ctl('1009', '7', 'E1'),
    ins(
      '1012',
      'D1',
      `update "APP"."CUSTOMERS" set "NAME" = 'later' where "ID" = '10' and "NAME" = 'late';`,
      {
        OPERATION_CODE: '3',
        ROW_ID: 'R10',
      },
    ),
    ctl('1013', '7', 'D1'),
  ];
}

export function world(over: Partial<FakeOracleWorld> = {}): FakeOracleWorld {
  return {
    currentScns: ['1015'],
    oldestOpenScn: null,
    logMode: 'ARCHIVELOG',
    supplementalMin: 'YES',
    supplementalAll: 'NO',
    privileges: ['CREATE SESSION', 'LOGMINING', 'SELECT ANY TRANSACTION', 'FLASHBACK ANY TABLE'],
    roles: ['SELECT_CATALOG_ROLE', 'EXECUTE_CATALOG_ROLE'],
    tables: {
      'APP.CUSTOMERS': {
        columns: [
          { COLUMN_NAME: 'ID', DATA_TYPE: 'NUMBER', DATA_PRECISION: '10', DATA_SCALE: '0' },
          { COLUMN_NAME: 'NAME', DATA_TYPE: 'VARCHAR2' },
          { COLUMN_NAME: 'NOTE', DATA_TYPE: 'NVARCHAR2' },
          { COLUMN_NAME: 'BAL', DATA_TYPE: 'NUMBER', DATA_PRECISION: '12', DATA_SCALE: '2' },
          { COLUMN_NAME: 'BIG', DATA_TYPE: 'NUMBER' },
          { COLUMN_NAME: 'CREATED', DATA_TYPE: 'DATE' },
          { COLUMN_NAME: 'UPDATED', DATA_TYPE: 'TIMESTAMP(6) WITH TIME ZONE', DATA_SCALE: '6' },
          { COLUMN_NAME: 'SEEN', DATA_TYPE: 'TIMESTAMP(6) WITH LOCAL TIME ZONE', DATA_SCALE: '6' },
          { COLUMN_NAME: 'PHOTO', DATA_TYPE: 'RAW' },
          { COLUMN_NAME: 'DOC', DATA_TYPE: 'CLOB' },
        ],
        key: ['ID'],
        allColumnLogging: true,
        types: {
          ID: 'NUMBER',
          NAME: 'VARCHAR',
          NOTE: 'NVARCHAR',
          BAL: 'NUMBER',
          BIG: 'NUMBER',
          CREATED: 'VARCHAR',
          UPDATED: 'VARCHAR',
          SEEN: 'VARCHAR',
          PHOTO: 'RAW',
          DOC: 'CLOB',
        },
        rows: [
          {
            ID: '1',
            NAME: 'ACME  ',
            NOTE: null,
            BAL: '.5',
            BIG: '123456789012345678901234567890',
            CREATED: '2026-11-01 08:00:00',
            UPDATED: '2026-11-01 06:00:00.123456',
            SEEN: '2026-11-01 06:00:00.000001',
            PHOTO: '00ff',
            DOC: 'hello',
          },
          {
            ID: '7',
            NAME: 'ZED',
            NOTE: 'Zürich',
            BAL: '10',
            BIG: null,
            CREATED: null,
            UPDATED: null,
            SEEN: null,
            PHOTO: null,
            DOC: null,
          },
        ],
      },
    },
    logs: [
      { NAME: '/redo/arch_1_40.arc', THREAD: '1', SEQ: '40', FIRST_SCN: '900', NEXT_SCN: '1008' },
      { NAME: '/redo/redo01.log', THREAD: '1', SEQ: '41', FIRST_SCN: '1008', NEXT_SCN: null },
      { NAME: '/redo/redo03.log', THREAD: '2', SEQ: '12', FIRST_SCN: '950', NEXT_SCN: null },
    ],
    redo: redo(),
    ...over,
  };
}

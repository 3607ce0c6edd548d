// `kind: oracle` pieces that need no server: the SQL_REDO tokenizer and parser on tricky text, the
// values of each Oracle type, SCN offsets and their order, error classification.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { classifyOracleError, OracleLoginError } from '../../adapters/oracle/oracle-errors.js';
import {
  compareCommits,
  isPublished,
  oracleOffsetCodec,
  type OracleOffset,
} from '../../adapters/oracle/oracle-offset.js';
import { decodeUnistr, parseRedo, RedoParseError } from '../../adapters/oracle/oracle-redo-parser.js';
import { isoDatetime, oracleColumn, redoValue, snapshotValue } from '../../adapters/oracle/oracle-types.js';
import { OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';

const vals = (m: ReadonlyMap<string, unknown>) => Object.fromEntries(m);

describe('SQL_REDO parser', () => {
  test('an insert with quotes, commas, "and" and semicolons inside values', () => {
    const s = parseRedo(
      `insert into "APP"."CUSTOMERS"("ID","NAME","NOTE","SEMI") values ('1','O''Brien, and sons','it''s '' a '''' test','a;b');`,
    );
    expect(s.op).toBe('insert');
    if (s.op !== 'insert') return;
    expect(s.owner).toBe('APP');
    expect(s.table).toBe('CUSTOMERS');
    expect(vals(s.values)).toEqual({
      ID: { kind: 'string', text: '1' },
      NAME: { kind: 'string', text: "O'Brien, and sons" },
      NOTE: { kind: 'string', text: "it's ' a '' test" },
      SEMI: { kind: 'string', text: 'a;b' },
    });
  });

  test('an update: SET values and every old value in WHERE, IS NULL, a quote before "and"', () => {
    const s = parseRedo(
      `update "APP"."T" set "NAME" = 'x'' and "ID" = ''2', "QTY" = NULL where "ID" = '1' and "NAME" = 'a '' and b' and "QTY" IS NULL and "N" = -1.5E+3;`,
    );
    expect(s.op).toBe('update');
    if (s.op !== 'update') return;
    expect(vals(s.values)).toEqual({
      NAME: { kind: 'string', text: `x' and "ID" = '2` },
      QTY: { kind: 'null' },
    });
    expect(vals(s.where)).toEqual({
      ID: { kind: 'string', text: '1' },
      NAME: { kind: 'string', text: "a ' and b" },
      QTY: { kind: 'null' },
      N: { kind: 'number', text: '-1.5E+3' },
    });
  });

  test('a delete with the ROWID pseudo-column (left out) and a column named ROWID in quotes (kept)', () => {
    const s = parseRedo(
      `delete from "APP"."T" where "ID" = '7' and "ROWID" = 'r' and ROWID = 'AAAR3sAAEAAAACXAAA';`,
    );
    expect(s.op).toBe('delete');
    if (s.op !== 'delete') return;
    expect(vals(s.where)).toEqual({
      ID: { kind: 'string', text: '7' },
      ROWID: { kind: 'string', text: 'r' },
    });
  });

  test('function calls: TO_DATE, TO_TIMESTAMP(_TZ), HEXTORAW, UNISTR, TO_BLOB(HEXTORAW), EMPTY_CLOB, ||', () => {
    const s = parseRedo(
      `insert into "A"."B"("D","T","TZ","R","U","BL","C","CAT") values (TO_DATE('2026-11-28 10:00:00', 'YYYY-MM-DD HH24:MI:SS'),TO_TIMESTAMP('2026-11-28 10:00:00.123456000'),TO_TIMESTAMP_TZ('2026-11-28 10:00:00.5 +02:00'),HEXTORAW('00ff10'),UNISTR('caf\\00e9 \\d83d\\de00'),TO_BLOB(HEXTORAW('4D79')),EMPTY_CLOB(),'ab' || 'c''d');`,
    );
    if (s.op !== 'insert') throw new Error(s.op);
    const v = vals(s.values) as Record<string, { kind: string; name?: string }>;
    expect(v.D).toMatchObject({ kind: 'call', name: 'TO_DATE' });
    expect(v.BL).toMatchObject({ kind: 'call', name: 'TO_BLOB', args: [{ kind: 'call', name: 'HEXTORAW' }] });
    expect(v.C).toEqual({ kind: 'call', name: 'EMPTY_CLOB', args: [] });
    expect(v.CAT).toMatchObject({ kind: 'call', name: '||' });
  });

  test('quoted identifiers with "" and odd characters; N-prefixed literals; upper/lower keywords', () => {
    const s = parseRedo(`INSERT INTO "App Owner"."Tab""le"("Col, 1","x") VALUES (N'ü''s',5)`);
    if (s.op !== 'insert') throw new Error(s.op);
    expect(s.owner).toBe('App Owner');
    expect(s.table).toBe('Tab"le');
    expect(vals(s.values)).toEqual({
      'Col, 1': { kind: 'string', text: "ü's" },
      x: { kind: 'number', text: '5' },
    });
  });

  test('bad redo is a clear error, never a wrong row', () => {
    expect(() => parseRedo(`insert into "A"."B"("X") values ('unterminated);`)).toThrow(RedoParseError);
    expect(() => parseRedo(`insert into "A"."B"("X","Y") values ('1');`)).toThrow(/2 columns but 1 values/);
    expect(() => parseRedo(`merge into "A"."B" using dual`)).toThrow(/expected insert, update or delete/);
    expect(() => parseRedo(`update "A"."B" set "X" = '1' where "Y" = '2' or "Z" = '3'`)).toThrow(
      /end of the statement/,
    );
  });

  test('property: any text survives quoting with doubled quotes, in values and in WHERE', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const q = (x: string) => `'${x.replace(/'/g, "''")}'`;
        const s = parseRedo(`update "O"."T" set "A" = ${q(a)} where "A" = ${q(b)} and "B" IS NULL;`);
        if (s.op !== 'update') return false;
        expect(s.values.get('A')).toEqual({ kind: 'string', text: a });
        expect(s.where.get('A')).toEqual({ kind: 'string', text: b });
        return true;
      }),
      { numRuns: 300 },
    );
  });

  test('UNISTR escapes: BMP, surrogate pairs, backslash', () => {
    expect(decodeUnistr('caf\\00E9 \\D83D\\DE00 a\\\\b')).toBe('café 😀 a\\b');
    expect(() => decodeUnistr('\\zz')).toThrow(/UNISTR/);
  });
});

describe('Oracle values', () => {
  const col = oracleColumn;
  const redo = (c: ReturnType<typeof col>, sql: string) => {
    const s = parseRedo(`insert into "A"."B"("X") values (${sql})`);
    if (s.op !== 'insert') throw new Error(s.op);
    return redoValue(c, s.values.get('X')!);
  };

  test('NUMBER with and without precision; BINARY_DOUBLE; Oracle prints .5', () => {
    expect(redo(col('X', 'NUMBER', 10, 0), `'42'`)).toBe(42);
    expect(redo(col('X', 'NUMBER', 38, 0), `'123456789012345678901234567890'`)).toBe(
      '123456789012345678901234567890',
    );
    expect(redo(col('X', 'NUMBER', null, null), `'42'`)).toBe('42');
    expect(redo(col('X', 'NUMBER', 12, 2), `'.5'`)).toBe('0.5');
    expect(redo(col('X', 'NUMBER', 12, 2), `'-.25'`)).toBe('-0.25');
    expect(redo(col('X', 'BINARY_DOUBLE', null, null), `'1.5E+10'`)).toBe(1.5e10);
    expect(redo(col('X', 'NUMBER', 5, 0), `NULL`)).toBeNull();
  });

  test('DATE, TIMESTAMP(n), WITH TIME ZONE and WITH LOCAL TIME ZONE keep every stored digit', () => {
    expect(
      redo(col('X', 'DATE', null, null), `TO_DATE('2026-11-28 10:00:01', 'YYYY-MM-DD HH24:MI:SS')`),
    ).toBe('2026-11-28T10:00:01');
    expect(redo(col('X', 'TIMESTAMP(6)', null, 6), `TO_TIMESTAMP('2026-11-28 10:00:01.123456000')`)).toBe(
      '2026-11-28T10:00:01.123456',
    );
    expect(redo(col('X', 'TIMESTAMP(9)', null, 9), `TO_TIMESTAMP('2026-11-28 10:00:01.123456789')`)).toBe(
      '2026-11-28T10:00:01.123456789',
    );
    expect(
      redo(
        col('X', 'TIMESTAMP(3) WITH TIME ZONE', null, 3),
        `TO_TIMESTAMP_TZ('2026-01-01 01:30:00.250 +02:00')`,
      ),
    ).toBe('2025-12-31T23:30:00.250Z');
    expect(
      redo(
        col('X', 'TIMESTAMP(6) WITH TIME ZONE', null, 6),
        `TO_TIMESTAMP_TZ('2026-11-28 10:00:00.000001 -05:30')`,
      ),
    ).toBe('2026-11-28T15:30:00.000001Z');
    // The mining session's TIME_ZONE is '00:00': LOCAL TIME ZONE values print in UTC.
    expect(
      redo(
        col('X', 'TIMESTAMP(6) WITH LOCAL TIME ZONE', null, 6),
        `TO_TIMESTAMP('2026-11-28 10:00:00.100000000')`,
      ),
    ).toBe('2026-11-28T10:00:00.100000Z');
    expect(() => isoDatetime('28-NOV-26', 'date', 0)).toThrow(/unreadable datetime/);
  });

  test('NVARCHAR2 through UNISTR, CHAR padding kept, RAW and BLOB as base64, CLOB text, EMPTY_CLOB unavailable', () => {
    expect(redo(col('X', 'NVARCHAR2', null, null), `UNISTR('\\00e9t\\00e9')`)).toBe('été');
    expect(redo(col('X', 'CHAR', null, null), `'AB  '`)).toBe('AB  ');
    expect(redo(col('X', 'RAW', null, null), `HEXTORAW('00ff10')`)).toBe(
      Buffer.from([0, 255, 16]).toString('base64'),
    );
    expect(redo(col('X', 'BLOB', null, null), `TO_BLOB(HEXTORAW('4D79'))`)).toBe(
      Buffer.from('My').toString('base64'),
    );
    expect(redo(col('X', 'CLOB', null, null), `'long '' text'`)).toBe("long ' text");
    expect(redo(col('X', 'NCLOB', null, null), `TO_NCLOB(UNISTR('\\00fc'))`)).toBe('ü');
    expect(redo(col('X', 'CLOB', null, null), `EMPTY_CLOB()`)).toBeUndefined();
    expect(() => redo(col('X', 'VARCHAR2', null, null), `SYS_GUID()`)).toThrow(
      /SYS_GUID\(\) is not supported/,
    );
  });

  test('snapshot values in oracledb shapes: NUMBER strings, Buffers, server-formatted dates; a Date is refused', () => {
    expect(snapshotValue(col('X', 'NUMBER', 9, 0), '17')).toBe(17);
    expect(snapshotValue(col('X', 'NUMBER', null, null), '.5')).toBe('0.5');
    expect(snapshotValue(col('X', 'RAW', null, null), Buffer.from([1, 2]))).toBe('AQI=');
    expect(snapshotValue(col('X', 'DATE', null, null), '2026-11-28 10:00:00')).toBe('2026-11-28T10:00:00');
    expect(
      snapshotValue(col('X', 'TIMESTAMP(6) WITH TIME ZONE', null, 6), '2026-11-28 10:00:00.000001'),
    ).toBe('2026-11-28T10:00:00.000001Z');
    expect(() => snapshotValue(col('X', 'DATE', null, null), new Date())).toThrow(/fetch it as text/);
  });
});

describe('Oracle offsets', () => {
  const k = (commitScn: string, thread: number, txId: string) => ({ commitScn, thread, txId });

  test('SCNs compare as numbers past 2^53, not as strings', () => {
    expect(compareCommits(k('9', 1, 'a'), k('10', 1, 'a'))).toBeLessThan(0);
    expect(compareCommits(k('9007199254740993', 1, 'a'), k('9007199254740992', 1, 'a'))).toBeGreaterThan(0);
  });

  test('one commit SCN on two redo threads: thread, then txId decide, the same way every time', () => {
    const list = [k('100', 2, '0a'), k('100', 1, '0b'), k('100', 1, '0a'), k('99', 2, 'ff')];
    expect([...list].sort(compareCommits)).toEqual([
      k('99', 2, 'ff'),
      k('100', 1, '0a'),
      k('100', 1, '0b'),
      k('100', 2, '0a'),
    ]);
  });

  test('isPublished: below the commit SCN always, at it up to (thread, txId), or all of it after a snapshot', () => {
    const o: OracleOffset = { scn: '90', commitScn: '100', last: { thread: 1, txId: '0b' } };
    expect(isPublished(o, k('99', 9, 'zz'))).toBe(true);
    expect(isPublished(o, k('100', 1, '0a'))).toBe(true);
    expect(isPublished(o, k('100', 1, '0b'))).toBe(true);
    expect(isPublished(o, k('100', 1, '0c'))).toBe(false);
    expect(isPublished(o, k('100', 2, '00'))).toBe(false);
    expect(isPublished(o, k('101', 1, '00'))).toBe(false);
    const snap: OracleOffset = { scn: '80', commitScn: '100' };
    expect(isPublished(snap, k('100', 2, 'ff'))).toBe(true);
    expect(isPublished(snap, k('101', 1, '00'))).toBe(false);
  });

  test('codec: round trip, rejects foreign text, orders snapshot progress before streaming', () => {
    const o: OracleOffset = { scn: '90', commitScn: '100', last: { thread: 1, txId: '0b' } };
    expect(oracleOffsetCodec.parse(oracleOffsetCodec.serialize(o))).toEqual(o);
    expect(() => oracleOffsetCodec.parse('{"scn":12}')).toThrow(/unreadable Oracle offset/);
    const snap: OracleOffset = {
      scn: '80',
      commitScn: '100',
      snapshot: { at: '100', table: 'A.B', after: null, chunk: 1 },
    };
    const done: OracleOffset = { scn: '80', commitScn: '100' };
    expect(oracleOffsetCodec.compare(snap, done)).toBeLessThan(0);
    expect(oracleOffsetCodec.compare(o, done)).toBeLessThan(0);
    expect(oracleOffsetCodec.compare({ ...o, commitScn: '101' }, done)).toBeGreaterThan(0);
    expect(oracleOffsetCodec.describe(o)).toContain('SCN 100');
  });
});

describe('Oracle errors (by ORA-/NJS- number)', () => {
  const ora = (errorNum: number) =>
    Object.assign(new Error(`ORA-${String(errorNum).padStart(5, '0')}: x`), {
      errorNum,
      code: `ORA-${String(errorNum).padStart(5, '0')}`,
    });

  test('ORA-01017 login failure is fatal', () => {
    const e = classifyOracleError(ora(1017), 'connect', 'erp');
    expect(e).toBeInstanceOf(OracleLoginError);
    expect(e.retriable).toBe(false);
  });

  test('ORA-00060 deadlock and timeouts are retriable; ORA-03113/03114/12514 failover is SOURCE_UNAVAILABLE', () => {
    expect(classifyOracleError(ora(60), 'x', 'erp').retriable).toBe(true);
    expect(classifyOracleError(ora(12170), 'x', 'erp').retriable).toBe(true);
    expect(
      classifyOracleError(Object.assign(new Error('NJS-510: timeout'), { code: 'NJS-510' }), 'x', 'erp')
        .retriable,
    ).toBe(true);
    for (const n of [3113, 3114, 12514]) {
      const e = classifyOracleError(ora(n), 'x', 'erp');
      expect(e).toBeInstanceOf(SourceUnavailableError);
      expect(e.retriable).toBe(true);
    }
  });

  test('archived log gone or snapshot too old is OFFSET_LOST naming the re-snapshot command', () => {
    for (const n of [1284, 308, 1555]) {
      const e = classifyOracleError(ora(n), 'mine', 'erp');
      expect(e).toBeInstanceOf(OffsetLostError);
      expect(e.message).toContain('nats kv del sluice_offsets offset.erp');
    }
  });

  test('a SQL error (ORA-00942) is neither retriable nor "unavailable"', () => {
    const e = classifyOracleError(ora(942), 'x', 'erp');
    expect(e.retriable).toBe(false);
    expect(e.code).toBe('ORACLE_ERROR');
  });
});

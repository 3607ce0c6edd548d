// `kind: mysql` pieces that need no server: value decoding, offsets, the default server_id, config.
import { describe, expect, test } from 'vitest';
import { serverIdOf } from '../../adapters/mysql/config.js';
import { classifyMysqlError } from '../../adapters/mysql/mysql-errors.js';
import { comparePoints, mysqlOffsetCodec } from '../../adapters/mysql/mysql-offset.js';
import { parseMariadbPosition } from '../../adapters/mysql/mysql-streaming.js';
import { decodeRow, float32, kindOfBinlogType } from '../../adapters/mysql/mysql-types.js';
import { parseConfig } from '../../src/config/load.js';

describe('mysql values', () => {
  test('zero dates become null and are named; timestamps get Z once; datetimes keep every digit', () => {
    const cols = [
      { name: 'd', kind: kindOfBinlogType(10, false) },
      { name: 'dt', kind: kindOfBinlogType(18, false) },
      { name: 'ts', kind: kindOfBinlogType(17, false) },
      { name: 'ts2', kind: kindOfBinlogType(17, false) },
      { name: 'j', kind: kindOfBinlogType(252, true) },
      { name: 'b', kind: kindOfBinlogType(252, false) },
      { name: 'f', kind: kindOfBinlogType(4, false) },
    ];
    const zero: string[] = [];
    const row = decodeRow(
      cols,
      {
        d: '0000-00-00',
        dt: '2024-02-29 23:59:59.000001',
        ts: '0000-00-00T00:00:00Z',
        ts2: '1999-12-31 23:00:00.5',
        j: '{"a": 1.50}',
        b: Buffer.from([0, 255]),
        f: Math.fround(0.1),
        extra: 'not a column',
      },
      zero,
    );
    expect(row).toStrictEqual({
      d: null,
      dt: '2024-02-29T23:59:59.000001',
      ts: null,
      ts2: '1999-12-31T23:00:00.5Z',
      j: { a: 1.5 },
      b: 'AP8=',
      f: 0.1,
    });
    expect(zero).toEqual(['d', 'ts']);
  });

  test('float32 gives the shortest decimal of the same float', () => {
    expect(float32(Math.fround(1.2345678))).toBe(1.2345678);
    expect(float32(Math.fround(3.4e38))).toBe(3.4e38);
    expect(float32(2.5)).toBe(2.5);
  });
});

describe('mysql offsets', () => {
  const base = { file: 'binlog.000009', pos: 500, gtid: '0-1-7', serverId: 1 };

  test('round trip; compared by file number then position; an unfinished snapshot first', () => {
    expect(mysqlOffsetCodec.parse(mysqlOffsetCodec.serialize(base))).toEqual(base);
    expect(
      comparePoints({ file: 'binlog.000010', pos: 4 }, { file: 'binlog.000009', pos: 9000 }),
    ).toBeGreaterThan(0);
    const snap = { ...base, snapshot: { table: 'db.t', after: [3], ordinal: 3, position: 'snapshot@x' } };
    expect(mysqlOffsetCodec.compare(snap, base)).toBeLessThan(0);
    expect(mysqlOffsetCodec.describe(base)).toBe('binlog.000009:500 (gtid 0-1-7)');
    expect(() => mysqlOffsetCodec.parse('{"lsn":"0/1"}')).toThrow(/unreadable MySQL offset/);
  });

  test('MariaDB GTID positions parse per domain with exact sequence numbers', () => {
    expect(parseMariadbPosition('0-1-18446744073709551615, 2-3-4')).toEqual(
      new Map([
        [0, { server: 1, seq: 18446744073709551615n }],
        [2, { server: 3, seq: 4n }],
      ]),
    );
  });
});

describe('mysql config and errors', () => {
  test('the default server_id is stable per name and in the reserved range; a configured one wins', () => {
    const a = serverIdOf({ name: 'erp', serverId: undefined });
    expect(a).toBe(serverIdOf({ name: 'erp', serverId: undefined }));
    expect(a).not.toBe(serverIdOf({ name: 'crm', serverId: undefined }));
    expect(a).toBeGreaterThanOrEqual(1_000_000);
    expect(a).toBeLessThan(2 ** 32);
    expect(serverIdOf({ name: 'erp', serverId: 7 })).toBe(7);
  });

  test('bad keys are listed by path', () => {
    expect(() =>
      parseConfig({
        nats: { servers: 'nats://x' },
        sources: [{ kind: 'mysql', name: 'm', url: 'postgres://x', tables: ['a.b'], serverId: 0 }],
      }),
    ).toThrow(/sources\[0\]\.url: expected a mysql:\/\/ or mariadb:\/\/ URL\n\s+sources\[0\]\.serverId/);
  });

  test('purged binlogs are OFFSET_LOST naming the re-snapshot; a server_id clash says so', () => {
    const lost = classifyMysqlError(
      Object.assign(new Error('Could not find first log file name in binary log index file'), {
        errno: 1236,
      }),
      'binlog',
      'erp',
    );
    expect(lost.code).toBe('OFFSET_LOST');
    expect(lost.message).toContain('nats kv del sluice_offsets offset.erp');
    const clash = classifyMysqlError(
      Object.assign(
        new Error('A slave with the same server_uuid/server_id as this slave has connected to the master'),
        { errno: 1236 },
      ),
      'binlog',
      'erp',
    );
    expect(clash.code).toBe('MYSQL_SERVER_ID_CLASH');
    expect(
      classifyMysqlError(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'binlog', 'erp').retriable,
    ).toBe(true);
  });
});

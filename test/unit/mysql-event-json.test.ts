// The binlog event written straight from zongji's row must be byte for byte what JSON.stringify
// makes of the event makeChange builds from decodeRow's rows.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { makeChange } from '../../src/core/change-event.js';
import {
  encodeBinlogRow,
  keyJson,
  rowJson,
  tableJson,
  txnJson,
} from '../../adapters/mysql/mysql-event-json.js';
import { decodeRow, type ColumnDecoder } from '../../adapters/mysql/mysql-types.js';

const decoders: ColumnDecoder[] = [
  { name: 'id', kind: 'plain' },
  { name: 'big', kind: 'plain' },
  { name: 'name', kind: 'plain' },
  { name: 'price', kind: 'plain' },
  { name: 'at', kind: 'timestamp' },
  { name: 'local', kind: 'datetime' },
  { name: 'day', kind: 'date' },
  { name: 'doc', kind: 'json' },
  { name: 'ratio', kind: 'float' },
  { name: 'blob', kind: 'plain' },
  { name: 'ünï "q"', kind: 'plain' },
  { name: 'nan', kind: 'plain' },
];

const rowA = {
  id: 7,
  big: 18446744073709551615n,
  name: 'line\n"quoted" \u2028 é 😀',
  price: '12.50',
  at: '2024-01-02 03:04:05.123456',
  local: '2024-01-02 03:04:05',
  day: '0000-00-00',
  doc: '{"b": [1, 2], "a": "x"}',
  ratio: 0.10000000149011612,
  blob: Buffer.from([0, 255, 1]),
  'ünï "q"': null,
  nan: NaN,
  extra: 'not in the table map',
};
const rowB = {
  id: -2,
  big: 42n,
  name: '',
  price: null,
  at: '0000-00-00 00:00:00',
  local: '0000-00-00 00:00:00.000000',
  day: '2024-02-29',
  doc: Buffer.from('[1,{"z":null}]'),
  ratio: 1.5,
  blob: null,
  'ünï "q"': 'x',
};

const origin = { version: '0.1.0', source: 'my', db: 'shop' };
const txn = {
  id: '0-1-42',
  gtid: '0-1-42' as string | null,
  start: { file: 'binlog.000003', pos: 1234 },
  serverId: 1,
  thread: null as number | null,
};

describe('binlog event JSON', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_123);
  });
  afterEach(() => vi.useRealTimers());

  test.each(['c', 'u', 'd'] as const)('op %s equals JSON.stringify of makeChange', (op) => {
    const t = tableJson(origin, 'shop', 'orders', decoders)!;
    const before = op === 'c' ? null : rowB;
    const after = op === 'd' ? null : rowA;
    // As BinlogStream#toChanges: zero dates are listed from the after image (the before image on delete).
    const zero: string[] = [];
    const beforeRow = before ? decodeRow(decoders, before, op === 'd' ? zero : undefined) : null;
    const afterRow = after ? decodeRow(decoders, after, zero) : null;
    const keySource = (op === 'd' ? beforeRow : afterRow)!;
    const expected = makeChange(
      { connector: 'mysql', ...origin },
      {
        op,
        schema: 'shop',
        table: 'orders',
        before: beforeRow,
        after: afterRow,
        key: { id: keySource.id, big: keySource.big },
        tsMs: 1_699_999_999_000,
        snapshot: 'false',
        file: txn.start.file,
        pos: txn.start.pos,
        row: 3,
        gtid: txn.gtid,
        server_id: txn.serverId,
        thread: txn.thread,
        ...(zero.length > 0 ? { zero_dates: zero } : {}),
        transaction: { id: txn.id, total_order: 5, data_collection_order: 4 },
        position: txn.id,
        index: 4,
      },
    );
    const gotZero: string[] = [];
    const afterJson = after ? rowJson(t, after, gotZero) : 'null';
    const beforeJson = before ? rowJson(t, before, op === 'd' ? gotZero : null) : 'null';
    const got = encodeBinlogRow(t, txnJson(txn), {
      op,
      before: beforeJson,
      after: afterJson,
      keyJson: keyJson(t, (op === 'd' ? before : after)!, [0, 1]),
      row: 3,
      tsMs: 1_699_999_999_000,
      zero: gotZero,
      totalOrder: 5,
      tableOrder: 4,
      position: txn.id,
      index: 4,
    });
    expect(got.json).toBe(JSON.stringify(expected.event));
    expect(got.keyJson).toBe(JSON.stringify(expected.key));
    expect(got.event).toEqual(JSON.parse(JSON.stringify(expected.event)));
  });

  test('a transaction with a thread and no GTID', () => {
    expect(txnJson({ ...txn, gtid: null, thread: 17 }).tail).toBe(',"gtid":null,"server_id":1,"thread":17');
  });

  test('a table with an integer-like column name takes the object path', () => {
    expect(tableJson(origin, 's', 't', [{ name: '2', kind: 'plain' }])).toBeNull();
  });
});

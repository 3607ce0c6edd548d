// The streamed event written straight from the tuple must be byte for byte what JSON.stringify
// makes of the event makeChange builds from decoded rows; the lean pgoutput reader must read the
// same values as the library's parser.
import lr from 'pg-logical-replication';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { makeChange } from '../../src/core/change-event.js';
import {
  encodeStreamed,
  keyJson,
  relationJson,
  rowJson,
} from '../../adapters/postgres/postgres-event-json.js';
import { RawPgoutputPlugin, type TupleValues } from '../../adapters/postgres/postgres-pgoutput.js';
import { TypeDecoders } from '../../adapters/postgres/postgres-types.js';
import { bigIntToLsn, lsnToBigInt } from '../../adapters/postgres/postgres-offset.js';

const types = new TypeDecoders();
types.learn([{ oid: 50003, typtype: 'd', elem: 0, base: 20, category: 'N' }]);

const columns: [string, number][] = [
  ['id', 23],
  ['big', 20],
  ['small', 21],
  ['flag', 16],
  ['name', 25],
  ['price', 1700],
  ['at', 1184],
  ['local', 1114],
  ['day', 1082],
  ['blob', 17],
  ['doc', 3802],
  ['ints', 1007],
  ['ratio', 701],
  ['cash', 790],
  ['code', 1042],
  ['dom', 50003],
  ['uid', 2950],
  ['ünï "q"\n', 1043],
];

const origin = { version: '0.1.0', source: 'src-1', db: 'shop "db"' };

const rowA: TupleValues = [
  '7',
  '9007199254740993',
  '-3',
  't',
  'line\n"quoted" \u2028 é 😀 \\',
  '12.50',
  '2024-01-02 03:04:05.123456+00',
  '2024-01-02 03:04:05',
  '2024-02-29',
  '\\x00ff',
  '{"b": [1, 2], "a": "x"}',
  '{1,NULL,3}',
  'NaN',
  '-$1,520.00',
  'AB   ',
  '-9223372036854775808',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  'x',
];
const rowB: TupleValues = [
  '-2147483648',
  '123456789012345',
  null,
  'f',
  '',
  null,
  'infinity',
  null,
  null,
  null,
  'null',
  '{}',
  '1.5e+300',
  '$0.00',
  null,
  '42',
  null,
  null,
];

function decode(values: TupleValues, unavailable?: string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  columns.forEach(([name, oid], i) => {
    const v = values[i];
    if (v === undefined) unavailable?.push(name);
    else row[name] = v === null ? null : types.decoder(oid)(v);
  });
  return row;
}

const rel = relationJson(
  origin,
  'public',
  'orders',
  columns.map(([name, oid]) => ({ name, json: types.jsonWriter(oid) })),
)!;

describe('streamed event JSON', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_123);
  });
  afterEach(() => vi.useRealTimers());

  test.each(['c', 'u', 'd'] as const)('op %s equals JSON.stringify of makeChange', (op) => {
    const before = op === 'c' ? null : rowB;
    // An update whose new tuple lacks two unchanged TOASTed values.
    const after =
      op === 'd' ? null : op === 'u' ? rowA.map((v, i) => (i === 4 || i === 10 ? undefined : v)) : rowA;
    const keyIdx = [0, 15];
    const unavailable: string[] = [];
    const afterRow = after ? decode(after, op === 'u' ? unavailable : undefined) : null;
    const beforeRow = before ? decode(before) : null;
    const keySource = (op === 'd' ? beforeRow : afterRow)!;
    const expected = makeChange(
      { connector: 'postgres', ...origin },
      {
        op,
        schema: 'public',
        table: 'orders',
        before: beforeRow,
        after: afterRow,
        key: { id: keySource.id, dom: keySource.dom },
        tsMs: 1_699_999_999_000,
        snapshot: 'false',
        lsn: '16/B374D848',
        txId: 4711,
        unavailable: op === 'u' ? unavailable : undefined,
        transaction: { id: '4711', total_order: 3, data_collection_order: 2 },
        position: '16/B374D900',
        index: 2,
      },
    );
    const got = encodeStreamed(rel, {
      op,
      before: before ? rowJson(rel, before, null) : 'null',
      after: after ? rowJson(rel, after, op === 'u' ? [] : null) : 'null',
      keyJson: keyJson(rel, (op === 'd' ? before : after)!, keyIdx),
      lsn: '16/B374D848',
      commitMs: 1_699_999_999_000,
      xid: 4711,
      xidText: '4711',
      totalOrder: 3,
      tableOrder: 2,
      unavailable: op === 'u' ? unavailable : null,
      position: '16/B374D900',
      index: 2,
    });
    expect(got.json).toBe(JSON.stringify(expected.event));
    expect(got.keyJson).toBe(JSON.stringify(expected.key));
    expect(got.event).toEqual(expected.event);
    expect(got.key).toEqual(expected.key);
    expect([got.position, got.index, got.op, got.schema, got.table, got.tsMs]).toEqual([
      '16/B374D900',
      2,
      op,
      'public',
      'orders',
      1_699_999_999_000,
    ]);
  });

  test('each type writes what JSON.stringify writes of its decoded value', () => {
    for (const [values, i] of [rowA, rowB].flatMap((r) => columns.map((_c, i) => [r, i] as const))) {
      const v = values[i];
      if (typeof v !== 'string') continue;
      const oid = columns[i]![1];
      expect(types.jsonWriter(oid)(v), `${oid} ${v}`).toBe(JSON.stringify(types.decoder(oid)(v)));
    }
    for (const v of [
      '0',
      '-1',
      '999999999999999',
      '-99999999999999',
      '9007199254740991',
      '1234567890123456789',
    ])
      expect(types.jsonWriter(20)(v)).toBe(JSON.stringify(types.decoder(20)(v)));
  });

  test('a relation with an integer-like or __proto__ column takes the object path', () => {
    const w = types.jsonWriter(23);
    expect(relationJson(origin, 's', 't', [{ name: '1', json: w }])).toBeNull();
    expect(relationJson(origin, 's', 't', [{ name: '__proto__', json: w }])).toBeNull();
    expect(relationJson(origin, 's', 't', [{ name: '01', json: w }])).not.toBeNull();
  });
});

// pgoutput v1 message bytes (PostgreSQL "Logical Replication Message Formats").
const str = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
const i8 = (n: number) => Buffer.from([n]);
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const tuple = (vals: (string | null)[]) =>
  Buffer.concat([
    i16(vals.length),
    ...vals.map((v) =>
      v === null
        ? Buffer.from('n')
        : v === 'TOAST'
          ? Buffer.from('u')
          : Buffer.concat([Buffer.from('t'), i32(Buffer.byteLength(v)), Buffer.from(v)]),
    ),
  ]);

describe('lean pgoutput reader', () => {
  const relation = Buffer.concat([
    Buffer.from('R'),
    i32(16400),
    str('public'),
    str('orders'),
    i8(0x64),
    i16(3),
    ...[
      [1, 'id', 23],
      [0, 'name', 25],
      [0, 'body', 25],
    ].flatMap(([flags, name, oid]) => [
      i8(flags as number),
      str(name as string),
      i32(oid as number),
      i32(-1),
    ]),
  ]);
  const messages: Record<string, Buffer> = {
    insert: Buffer.concat([Buffer.from('I'), i32(16400), Buffer.from('N'), tuple(['1', 'zoë', null])]),
    updateKey: Buffer.concat([
      Buffer.from('U'),
      i32(16400),
      Buffer.from('K'),
      tuple(['1', null, null]),
      Buffer.from('N'),
      tuple(['2', 'b', 'TOAST']),
    ]),
    updateOld: Buffer.concat([
      Buffer.from('U'),
      i32(16400),
      Buffer.from('O'),
      tuple(['1', 'a', 'long']),
      Buffer.from('N'),
      tuple(['1', 'b', 'TOAST']),
    ]),
    updateNew: Buffer.concat([Buffer.from('U'), i32(16400), Buffer.from('N'), tuple(['1', 'c', 'TOAST'])]),
    deleteKey: Buffer.concat([Buffer.from('D'), i32(16400), Buffer.from('K'), tuple(['1', null, null])]),
    deleteOld: Buffer.concat([Buffer.from('D'), i32(16400), Buffer.from('O'), tuple(['1', 'a', null])]),
  };

  test.each(Object.keys(messages))('%s reads the values the library reads', (name) => {
    const ours = new RawPgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    const lib = new lr.PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    ours.parseMessage(relation);
    const rel = lib.parse(relation) as { columns: { name: string; parser: unknown }[] };
    for (const c of rel.columns) c.parser = (v: unknown) => v;
    const mine = ours.parseMessage(messages[name]!);
    const theirs = lib.parse(messages[name]!) as unknown as Record<string, unknown>;
    const asObject = (v: TupleValues | null) =>
      v && Object.fromEntries(rel.columns.map((c, i) => [c.name, v[i]]).filter(([, x]) => x !== undefined));
    const plain = (v: unknown) =>
      v && Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
    expect(mine.tag).toBe(theirs.tag);
    if (mine.tag !== 'insert' && mine.tag !== 'update' && mine.tag !== 'delete') throw new Error(mine.tag);
    expect(asObject(mine.new)).toEqual(plain(theirs.new ?? null));
    expect(asObject(mine.old)).toEqual(plain(theirs.old ?? null));
    expect(asObject(mine.key)).toEqual(plain(theirs.key ?? null));
  });

  test('begin and commit: normalized LSNs and the commit time in ms', () => {
    const ours = new RawPgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    const lib = new lr.PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    const us = 817_000_000_123_456n; // µs after 2000-01-01
    const begin = Buffer.concat([Buffer.from('B'), u64(0x16_b374d848n), u64(us), i32(-5)]);
    const commit = Buffer.concat([
      Buffer.from('C'),
      i8(0),
      u64(0x16_b374d848n),
      u64(0x16_b374d900n),
      u64(us),
    ]);
    const theirs = lib.parse(begin) as unknown as { commitLsn: string; commitTime: bigint; xid: number };
    expect(ours.parseMessage(begin)).toEqual({
      tag: 'begin',
      commitLsn: bigIntToLsn(lsnToBigInt(theirs.commitLsn)),
      commitMs: Number(theirs.commitTime / 1000n),
      xid: theirs.xid,
    });
    expect(ours.parseMessage(commit)).toEqual({ tag: 'commit', commitEndLsn: '16/B374D900' });
    const zero = Buffer.concat([Buffer.from('C'), i8(0), u64(0n), u64(0n), u64(us)]);
    expect(ours.parseMessage(zero)).toEqual({ tag: 'commit', commitEndLsn: null });
  });
});

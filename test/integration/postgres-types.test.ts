// Each PostgreSQL type, read by the snapshot and by the stream, arrives as the README's "Events" section says.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { Harness } from '../support/harness.js';

let h: Harness;
let rt: Runtime;

const ROW = `(
  1, 12345678901234.567890, 9007199254740993, 42, 3.25, true,
  '2024-02-29 23:59:59.123456+05', '2024-02-29 23:59:59.123456', '2024-02-29',
  '\\x00ff10', '{"a": [1, 2.5, "x"]}', '{"b": null}', ARRAY[1,2,3], ARRAY['a b','c"d',NULL],
  'happy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'AB', 12.34, 'NaN', '13:14:15.5', ARRAY['happy','sad']::mood[],
  '1 day 2 hours', -9007199254740993
)`;

const EXPECTED = {
  id: 1,
  num: '12345678901234.567890',
  big: '9007199254740993',
  small: 42,
  flt: 3.25,
  flag: true,
  tstz: '2024-02-29T18:59:59.123456Z',
  ts: '2024-02-29T23:59:59.123456',
  d: '2024-02-29',
  bin: Buffer.from([0x00, 0xff, 0x10]).toString('base64'),
  js: { a: [1, 2.5, 'x'] },
  jsb: { b: null },
  ints: [1, 2, 3],
  texts: ['a b', 'c"d', null],
  feeling: 'happy',
  uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  code: 'AB   ',
  price: '12.34',
  notnum: 'NaN',
  t: '13:14:15.5',
  moods: ['happy', 'sad'],
  span: 'P1DT2H',
  neg: '-9007199254740993',
};

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(`
    CREATE TYPE mood AS ENUM ('happy', 'sad');
    CREATE TABLE typed (
      id int PRIMARY KEY, num numeric(30,6), big int8, small int2, flt float8, flag bool,
      tstz timestamptz, ts timestamp, d date, bin bytea, js json, jsb jsonb, ints int[], texts text[],
      feeling mood, uid uuid, code char(5), price money, notnum numeric, t time, moods mood[], span interval, neg int8);
    INSERT INTO typed VALUES ${ROW};
  `);
  rt = await h.runInProcess(h.config({ name: 'types', tables: ['public.typed'] }));
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

test('snapshot values keep every digit, zone and padding', async () => {
  const [e] = await h.waitForEvents('types', 1);
  expect(e!.event.after).toEqual(EXPECTED);
});

test('streamed values equal the snapshot values for the same row', async () => {
  await h.pg.query(`INSERT INTO typed VALUES ${ROW.replace('(\n  1,', '(\n  2,')}`);
  const evs = await h.waitForEvents('types', 2);
  expect(evs[1]!.event.op).toBe('c');
  expect(evs[1]!.event.after).toEqual({ ...EXPECTED, id: 2 });
});

test('an unchanged TOASTed value is absent and listed in source.unavailable, never faked', async () => {
  // Random text is incompressible, so a 128 kB value is stored out of line (TOASTed).
  await h.pg.query(
    `UPDATE typed SET texts = ARRAY[(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 4000))] WHERE id = 2`,
  );
  await h.pg.query(`UPDATE typed SET small = 43 WHERE id = 2`);
  const evs = await h.waitForEvents('types', 4);
  const upd = evs[3]!.event;
  expect(upd.op).toBe('u');
  expect((upd.after as Record<string, unknown>).small).toBe(43);
  expect(upd.after).not.toHaveProperty('texts');
  expect((upd.source as { unavailable?: string[] }).unavailable).toEqual(['texts']);
  expect((evs[2]!.event.after as Record<string, string[]>).texts![0]).toHaveLength(128_000);
});

test('a column added mid-stream appears without a restart', async () => {
  await h.pg.query(`ALTER TABLE typed ADD COLUMN extra varchar(10) DEFAULT 'new'`);
  await h.pg.query(`UPDATE typed SET small = 44 WHERE id = 1`);
  const evs = await h.waitForEvents('types', 5);
  expect(evs[4]!.event.after).toMatchObject({ id: 1, small: 44, extra: 'new' });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { changeEventSchema, makeChange } from '../../src/core/change-event.js';
import { connectorFieldKeys, sourceInfoSchema, type Connector } from '../../src/core/source-info.js';

const dir = join(import.meta.dirname, '../fixtures/events');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (file: string) =>
  JSON.parse(readFileSync(join(dir, file), 'utf8')) as { source: Record<string, unknown> } & Record<
    string,
    unknown
  >;

describe('golden change events', () => {
  test.each(fixtures)('%s matches the event schema and round-trips unchanged', (file) => {
    const raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const parsed = changeEventSchema.parse(raw);
    expect(parsed).toEqual(raw);
  });

  test('there is a fixture for every op', () => {
    const ops = new Set(fixtures.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).op));
    expect([...ops].sort()).toEqual(['c', 'd', 'r', 't', 'u']);
  });

  test('an update without an after image, or a delete without a before image, is refused', () => {
    const base = JSON.parse(readFileSync(join(dir, 'postgres-insert.json'), 'utf8'));
    expect(changeEventSchema.safeParse({ ...base, op: 'u', after: null }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...base, op: 'd', before: null, after: null }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...base, op: 'x' }).success).toBe(false);
  });

  test('there is a fixture for every connector', () => {
    const connectors = new Set(fixtures.map((f) => load(f).source.connector as string));
    const all = sourceInfoSchema.options.map((o) => o.shape.connector.value);
    expect([...connectors].sort()).toEqual([...all].sort());
  });
});

describe('source blocks per connector', () => {
  const withSource = (file: string, patch: Record<string, unknown>) => {
    const e = load(file);
    return { ...e, source: { ...e.source, ...patch } };
  };
  const rejected = (file: string, patch: Record<string, unknown>) =>
    changeEventSchema.safeParse(withSource(file, patch)).success;

  test.each([
    ['oracle txId as a number', 'oracle-delete.json', { txId: 1234 }],
    ['oracle scn as a number', 'oracle-delete.json', { scn: 10123456789 }],
    ['oracle without scn', 'oracle-delete.json', { scn: undefined }],
    ['mysql pos as a string', 'mysql-update.json', { pos: '4721' }],
    ['mysql without file', 'mysql-update.json', { file: undefined }],
    ['mysql server_id as a string', 'mysql-update.json', { server_id: '1' }],
    ['sqlserver event_serial_no as a string', 'sqlserver-insert.json', { event_serial_no: '1' }],
    ['postgres txId as a string', 'postgres-insert.json', { txId: '771' }],
    ['postgres lsn as a number', 'postgres-insert.json', { lsn: 23803720 }],
    ['polling cursor as a number', 'polling-insert.json', { cursor: 1042 }],
    ['triggers txId as a string', 'triggers-update-origin.json', { txId: '90517' }],
    ['an unknown connector', 'postgres-insert.json', { connector: 'db2' }],
  ])('%s is refused', (_what, file, patch) => {
    expect(changeEventSchema.safeParse(load(file)).success).toBe(true);
    expect(rejected(file, patch)).toBe(false);
  });

  test('an origin must be a printable header value', () => {
    const e = load('triggers-update-origin.json');
    expect(changeEventSchema.safeParse({ ...e, origin: 'crm\r\nX-Evil: 1' }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...e, origin: '' }).success).toBe(false);
  });

  const input = {
    op: 'c',
    schema: 's',
    table: 't',
    before: null,
    after: { id: 1 },
    key: { id: 1 },
    tsMs: 1764000000000,
    snapshot: 'false',
    position: 'p',
    index: 0,
  } as const;
  const origin = <C extends Connector>(connector: C) => ({
    connector,
    source: 'src',
    version: '0.1.0',
    db: 'd',
  });

  test('makeChange copies each connector its own fields, leaves undefined ones out, and validates', () => {
    const pg = makeChange(origin('postgres'), { ...input, lsn: '0/1', txId: 7, xmin: undefined });
    expect(pg.event.source).toEqual({
      version: '0.1.0',
      connector: 'postgres',
      name: 'src',
      ts_ms: 1764000000000,
      snapshot: 'false',
      db: 'd',
      schema: 's',
      table: 't',
      lsn: '0/1',
      txId: 7,
    });
    expect('xmin' in pg.event.source).toBe(false);
    const my = makeChange(origin('mysql'), { ...input, file: 'binlog.000001', pos: 4, row: 0, server_id: 1 });
    const ora = makeChange(origin('oracle'), { ...input, scn: '99', txId: '0a00', origin: 'sink-a' });
    const poll = makeChange(origin('polling'), { ...input, cursor: '5' });
    for (const c of [pg, my, ora, poll]) expect(changeEventSchema.safeParse(c.event).success).toBe(true);
    expect(ora.event.origin).toBe('sink-a');
    expect(() => makeChange(origin('polling'), { ...input, origin: 'a\r\nX-Evil: 1' })).toThrow(
      /not printable ASCII/,
    );
    expect('origin' in pg.event).toBe(false);
    expect(connectorFieldKeys.postgres).toEqual(['lsn', 'txId', 'xmin']);
    expect(connectorFieldKeys.oracle).toEqual([
      'scn',
      'commit_scn',
      'txId',
      'rs_id',
      'ssn',
      'redo_thread',
      'user_name',
    ]);
  });

  test.each(Object.keys(connectorFieldKeys) as Connector[])(
    'makeChange copies every field of the %s schema (none forgotten in its switch)',
    (connector) => {
      const fields = Object.fromEntries(connectorFieldKeys[connector].map((k, i) => [k, `v${i}`]));
      const c = makeChange(origin(connector), { ...input, ...fields });
      const own = Object.fromEntries(
        Object.entries(c.event.source).filter(([k]) => connectorFieldKeys[connector].includes(k)),
      );
      expect(own).toEqual(fields);
    },
  );
});

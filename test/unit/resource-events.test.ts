// Raw change events → resource events (src/delivery/resource-events.ts): types, no-op updates, key
// changes, truncates, hidden fields, unchanged TOAST, composite keys with `,` and `%`.
import { describe, expect, test } from 'vitest';
import type { ChangeEvent } from '../../src/core/change-event.js';
import type { FieldSpec } from '../../src/core/mapping.js';
import { resourceEventSchema } from '../../src/delivery/resource-event.js';
import {
  hiddenFromEveryone,
  ResourceEventMapper,
  ResourceMappingError,
  SourceRoutes,
  type ResourceEntry,
} from '../../src/delivery/resource-events.js';

const field = (column: string, codec: FieldSpec['codec'] = 'string', options = {}): FieldSpec => ({
  column,
  codec,
  options,
  nullable: true,
  readOnly: false,
  generated: false,
});

const customers: ResourceEntry = {
  source: 'erp',
  table: 'public.custmast',
  key: ['id'],
  fields: {
    id: field('cust_no', 'trim'),
    name: field('cust_nm', 'trim'),
    active: field('actv_flg', 'yn'),
    createdOn: field('crt_dt', 'yyyymmdd'),
    secret: field('ssn'),
  },
  access: { clerk: ['read'], admin: ['read', 'update'] },
  hiddenFields: { clerk: ['secret', 'name'], admin: ['secret'] },
};

const TS = Date.UTC(2026, 0, 5, 10, 30, 0, 123);

function raw(
  op: ChangeEvent['op'],
  before: object | null,
  after: object | null,
  extra: object = {},
): ChangeEvent {
  return {
    op,
    before: before as ChangeEvent['before'],
    after: after as ChangeEvent['after'],
    source: {
      version: '0.1.0',
      connector: 'postgres',
      name: 'erp',
      ts_ms: TS,
      snapshot: op === 'r' ? 'true' : 'false',
      db: 'erp',
      schema: 'public',
      table: 'custmast',
      ...extra,
    },
    ts_ms: TS + 5,
  };
}

const row = (no: string, nm: string, flg = 'Y', dt = 20240105, ssn = '123') => ({
  cust_no: no,
  cust_nm: nm,
  actv_flg: flg,
  crt_dt: dt,
  ssn,
});

const mapper = new ResourceEventMapper('customers', customers, 'sluice', hiddenFromEveryone(customers));
const ID = 'erp:0/16B3748:3';

describe('one raw event → resource events', () => {
  test('insert → created, in API shape, with a deterministic id, commit time and subject', () => {
    const [e, ...rest] = mapper.map(raw('c', null, row('C42     ', 'ACME  ')), ID);
    expect(rest).toEqual([]);
    expect(e!.subject).toBe('sluice.resources.customers.created');
    expect(e!.key).toEqual({ id: 'C42' });
    expect(e!.event).toEqual({
      specversion: '1.0',
      id: `${ID}/customers/0`,
      source: '/sluice/erp',
      type: 'customers.created',
      subject: 'C42',
      time: '2026-01-05T10:30:00.123Z',
      datacontenttype: 'application/json',
      data: {
        key: { id: 'C42' },
        after: { id: 'C42', name: 'ACME', active: true, createdOn: '2024-01-05' },
        before: null,
      },
    });
    expect(resourceEventSchema.parse(e!.event)).toEqual(e!.event);
    // The same raw event always gives the same id.
    expect(mapper.map(raw('c', null, row('C42', 'X')), ID)[0]!.event.id).toBe(e!.event.id);
  });

  test('snapshot read → snapshot', () => {
    const [e] = mapper.map(raw('r', null, row('C1', 'A')), ID);
    expect(e!.event.type).toBe('customers.snapshot');
    expect(e!.subject).toBe('sluice.resources.customers.snapshot');
  });

  test('update of a mapped field → updated, with before and after', () => {
    const [e, ...rest] = mapper.map(raw('u', row('C1', 'A', 'Y'), row('C1', 'A', 'N')), ID);
    expect(rest).toEqual([]);
    expect(e!.event.type).toBe('customers.updated');
    expect(e!.event.data.before).toMatchObject({ active: true });
    expect(e!.event.data.after).toMatchObject({ active: false });
  });

  test('an update that changes no mapped field, or only padding a codec trims, yields nothing', () => {
    const before = { ...row('C1', 'ACME'), unmapped: 1 };
    expect(mapper.map(raw('u', before, { ...before, unmapped: 2 }), ID)).toEqual([]);
    expect(mapper.map(raw('u', before, { ...before, cust_nm: 'ACME   ' }), ID)).toEqual([]);
  });

  test('an update that changes only a field hidden from everyone yields nothing', () => {
    expect(mapper.map(raw('u', row('C1', 'A', 'Y', 1, '111'), row('C1', 'A', 'Y', 1, '222')), ID)).toEqual(
      [],
    );
  });

  test('an update without a before image is delivered (nobody can tell it changed nothing)', () => {
    const out = mapper.map(raw('u', null, row('C1', 'A')), ID);
    expect(out.map((e) => e.event.type)).toEqual(['customers.updated']);
    expect(out[0]!.event.data.before).toBeNull();
  });

  test('an update that changes the key → deleted (old key) then created (new key)', () => {
    const out = mapper.map(raw('u', row('C1', 'A'), row('C2', 'A')), ID);
    expect(out.map((e) => [e.event.type, e.event.subject, e.event.id])).toEqual([
      ['customers.deleted', 'C1', `${ID}/customers/0`],
      ['customers.created', 'C2', `${ID}/customers/1`],
    ]);
    expect(out[0]!.event.data).toMatchObject({ key: { id: 'C1' }, after: null, before: { id: 'C1' } });
    expect(out[1]!.event.data).toMatchObject({ key: { id: 'C2' }, after: { id: 'C2' }, before: null });
    // A key-only before image (REPLICA IDENTITY DEFAULT) is enough to see the key change.
    const keyOnly = mapper.map(raw('u', { cust_no: 'C1' }, row('C2', 'A')), ID);
    expect(keyOnly.map((e) => e.event.type)).toEqual(['customers.deleted', 'customers.created']);
    expect(keyOnly[0]!.event.data.before).toEqual({ id: 'C1' });
  });

  test('delete → deleted with the key and the before image (only the columns it carries)', () => {
    const [e] = mapper.map(raw('d', { cust_no: 'C9  ' }, null), ID);
    expect(e!.subject).toBe('sluice.resources.customers.deleted');
    expect(e!.event.data).toEqual({ key: { id: 'C9' }, after: null, before: { id: 'C9' } });
  });

  test('truncate → one truncated event with no key and no subject', () => {
    const out = mapper.map(raw('t', null, null), ID);
    expect(out).toHaveLength(1);
    expect(out[0]!.key).toBeNull();
    expect(out[0]!.subject).toBe('sluice.resources.customers.truncated');
    expect(out[0]!.event.subject).toBeUndefined();
    expect(out[0]!.event.data).toEqual({ key: null, after: null, before: null });
    expect(resourceEventSchema.safeParse(out[0]!.event).success).toBe(true);
  });

  test('hidden fields: those hidden for every reading role are left out, others stay', () => {
    expect([...hiddenFromEveryone(customers)]).toEqual(['secret']);
    const [e] = mapper.map(raw('c', null, row('C1', 'A')), ID);
    expect(e!.event.data.after).not.toHaveProperty('secret');
    expect(e!.event.data.after).toHaveProperty('name');
    // Without access rules nothing is hidden; a role that cannot read does not count.
    expect(hiddenFromEveryone({ hiddenFields: { x: ['secret'] } }).size).toBe(0);
    expect([
      ...hiddenFromEveryone({
        access: { w: ['create'], r: ['read'] },
        hiddenFields: { r: ['a', 'b'], w: [] },
      }),
    ]).toEqual(['a', 'b']);
  });

  test('composite key with `,` and `%` in values: subject percent-encodes them', () => {
    const lines: ResourceEntry = {
      source: 'erp',
      table: 'public.ordln',
      key: ['order', 'line'],
      fields: { order: field('ord_no', 'trim'), line: field('ln_no', 'int'), qty: field('qty', 'int') },
      hiddenFields: {},
    };
    const m = new ResourceEventMapper('lines', lines, 'sluice');
    const [e] = m.map(raw('c', null, { ord_no: 'A,1%  ', ln_no: 7, qty: 2 }), ID);
    expect(e!.event.subject).toBe('A%2C1%25,7');
    expect(e!.key).toEqual({ order: 'A,1%', line: 7 });
  });

  test('unchanged TOAST: value taken from the before image, else left out and named', () => {
    const withNote: ResourceEntry = {
      ...customers,
      fields: { ...customers.fields, note: field('note') },
    };
    const m = new ResourceEventMapper('c', withNote, 'sluice', hiddenFromEveryone(withNote));
    const full = { ...row('C1', 'A', 'Y'), note: 'long text' };
    const { note: _omit, ...afterNoNote } = { ...full, actv_flg: 'N' };
    // Before image carries it (REPLICA IDENTITY FULL): the value is known and unchanged.
    const [a] = m.map(raw('u', full, afterNoNote, { unavailable: ['note'] }), ID);
    expect(a!.event.data.after).toMatchObject({ note: 'long text', active: false });
    expect(a!.event.data.unavailable).toBeUndefined();
    // No before image: the field is left out, never invented.
    const [b] = m.map(raw('u', null, afterNoNote, { unavailable: ['note'] }), ID);
    expect(b!.event.data.after).not.toHaveProperty('note');
    expect(b!.event.data.unavailable).toEqual(['note']);
    // Only the unavailable column "changed": nothing to deliver.
    const { note: _n, ...sameNoNote } = full;
    expect(m.map(raw('u', full, sameNoNote, { unavailable: ['note'] }), ID)).toEqual([]);
  });

  test('a row without its key column cannot be mapped: ResourceMappingError', () => {
    expect(() => mapper.map(raw('c', null, { cust_nm: 'A' }), ID)).toThrow(ResourceMappingError);
    // A delete whose before image lacks the key takes it from the raw Sluice-Key.
    const [e] = mapper.map(raw('d', { cust_nm: 'A' }, null), ID, { cust_no: 'C5' });
    expect(e!.key).toEqual({ id: 'C5' });
  });
});

describe('SourceRoutes', () => {
  test('a table mapped by several resources gets one event per resource; other sources are ignored', () => {
    const routes = new SourceRoutes(
      'erp',
      {
        customers,
        names: {
          source: 'erp',
          table: 'custmast',
          key: ['no'],
          fields: { no: field('cust_no', 'trim') },
          hiddenFields: {},
        },
        elsewhere: { ...customers, source: 'crm' },
      },
      'sluice',
    );
    expect(routes.for('public', 'custmast').map((m) => m.resource)).toEqual(['customers', 'names']);
    expect(routes.for('other', 'custmast').map((m) => m.resource)).toEqual(['names']);
    expect(routes.for('public', 'ordhdr')).toEqual([]);
  });
});

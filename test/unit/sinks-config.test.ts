// The `sinks:` section: defaults, and every problem reported by its path.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { SinkMapping } from '../../src/sink/sink-mapping.js';

const base = `
sources:
  - { name: erp, kind: postgres, url: 'postgres://u@h/erp', tables: [public.custmast] }
api:
  resources:
    orders:
      source: erp
      table: public.ordhdr
      key: [id]
      fields:
        id: { column: ord_no, codec: int }
        open: { column: status, codec: yn, options: { true: O, false: C } }
`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('sinks config', () => {
  test('defaults and both kinds of table target', () => {
    const cfg = parseConfigText(
      `${base}
sinks:
  - name: newdb
    url: postgres://app@h/newdb
    from: erp
    tables:
      public.custmast: { table: public.customers, columns: { cust_no: id, cust_nm: name } }
      public.ordhdr: { resource: orders }
`,
      {},
    );
    const s = cfg.sinks[0]!;
    expect(s).toMatchObject({ conflicts: 'sourceWins', batchSize: 500, fetchWait: 500 });
    const m = new SinkMapping(s, cfg.api!.resources);
    const cust = m.target('public', 'custmast')!;
    expect(cust.table).toBe('public.customers');
    expect(cust.row({ cust_no: 'C1', cust_nm: 'A', other: 1 })).toEqual({ id: 'C1', name: 'A', other: 1 });
    const ord = m.target('public', 'ordhdr')!;
    expect(ord.table).toBe('orders');
    expect(ord.row({ ord_no: 7, status: 'O', ignored: 1 })).toEqual({ id: 7, open: true });
    expect(ord.row({ ord_no: 7, status: 'C' }, ['status'])).toEqual({ id: 7 });
    expect(ord.key({ ord_no: 7 })).toEqual({ id: 7 });
    expect(m.target('public', 'unlisted')).toBeNull();
  });

  test('every problem is listed by path', () => {
    expect(
      problems(`${base}
sinks:
  - name: a
    url: postgres://x/y
    from: nosuch
    conflicts: lastWins
    batchSize: 0
    tables:
      public.x: { resource: nosuch }
      public.y: { columns: { a: same, b: same } }
  - { name: a, url: 'sqlite:x.db', from: erp, extra: 1 }
  - { name: 'bad name', from: erp }
`).sort(),
    ).toEqual(
      [
        'sinks[0].conflicts: Invalid option: expected one of "sourceWins"|"targetWins"|"newerWins"',
        'sinks[0].batchSize: Too small: expected number to be >=1',
        'sinks[0].tables.public.y.columns.b: target column same is already written by a',
        'sinks[1]: unknown key extra',
        'sinks[2].name: expected letters, digits, _ or -',
        'sinks[2].url: Invalid input: expected string, received undefined',
      ].sort(),
    );
  });

  test('cross references: sink names, sources and resources', () => {
    expect(
      problems(`${base}
sinks:
  - { name: a, url: 'sqlite:x.db', from: nosuch, tables: { public.x: { resource: nosuch } } }
  - { name: a, url: 'sqlite:x.db', from: erp }
`).sort(),
    ).toEqual(
      [
        'sinks[0].from: no source named "nosuch"',
        'sinks[0].tables.public.x.resource: no api resource named "nosuch"',
        'sinks[1].name: duplicate sink name "a" (also sinks[0])',
      ].sort(),
    );
  });
});

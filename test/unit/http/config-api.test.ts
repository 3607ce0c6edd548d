import { describe, expect, it } from 'vitest';
import { apiSchema, checkApiReferences } from '../../../src/config/api.js';
import { formatPath } from '../../../src/config/load.js';

const base = {
  resources: {
    customers: {
      source: 'erp',
      table: 'public.custmast',
      key: ['id'],
      fields: {
        id: { column: 'cust_no', codec: 'trim' },
        active: { column: 'actv_flg', codec: 'yn', options: { true: 'J' } },
      },
    },
  },
};

function problems(raw: unknown): string[] {
  const r = apiSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

describe('api config schema', () => {
  it('accepts the documented example and fills defaults', () => {
    const api = apiSchema.parse(base);
    expect(api.basePath).toBe('/api');
    expect(api.maxLimit).toBe(1000);
    expect(api.resources.customers!.fields.active!.options).toEqual({
      true: 'J',
      false: 'N',
      unknown: 'null',
    });
    expect(api.resources.customers!.rowFilter).toEqual([]);
  });

  it('lists every problem by path', () => {
    const bad = {
      basePath: 'api',
      resources: {
        customers: {
          table: 'a b',
          key: ['nope'],
          fields: {
            id: { column: 'cust_no', codec: 'rot13' },
            st: { column: 'stat', codec: 'enum', options: { values: {} } },
            d: { column: 'cust_no', codec: 'yyyymmdd', options: { storage: 'text' } },
          },
          hiddenFields: { anonymous: ['ghost'] },
          rowFilter: { role: 'c', field: 'ghost', claim: 'sub' },
          relations: { orders: { resource: 'orders', on: { ghost: 'x' } } },
        },
      },
      auth: { apiKeys: [{ name: 'k', hash: 'md5:abc', roles: ['r'] }], jwt: {} },
    };
    const p = problems(bad);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^basePath: /),
        expect.stringMatching(/^resources\.customers\.table: /),
        expect.stringMatching(/^resources\.customers\.fields\.id\.codec: /),
        expect.stringMatching(/^resources\.customers\.fields\.st\.options\.values: /),
        expect.stringMatching(/^resources\.customers\.fields\.d\.options\.storage: /),
        expect.stringMatching(/^auth\.apiKeys\[0\]\.hash: expected sha256/),
        expect.stringMatching(/^auth\.jwt: set exactly one of secret or jwksFile/),
      ]),
    );
  });

  it('checks references across the config', () => {
    const api = apiSchema.parse({
      ...base,
      resources: {
        ...base.resources,
        orders: {
          url: 'sqlite:x.db',
          table: 'ordhdr',
          key: ['n'],
          fields: { n: { column: 'n', codec: 'int' } },
        },
        lines: {
          table: 'ln',
          key: ['n'],
          fields: { n: { column: 'n' } },
          relations: { order: { resource: 'orders', on: { n: 'missing' } } },
        },
      },
    });
    const issues: string[] = [];
    checkApiReferences(
      { sources: [{ name: 'other', url: 'postgres://x' }], api },
      { addIssue: (i) => issues.push(`${formatPath(i.path)}: ${i.message}`) },
    );
    expect(issues).toEqual([
      'api.resources.customers.source: no source named "erp" in sources[]',
      'api.resources.lines: no database: set source, url, or api.database',
      'api.resources.lines.relations.order.on.n: "orders" has no field "missing"',
      'api.resources.lines.relations.order: related resources must live in the same database',
    ]);
  });
});

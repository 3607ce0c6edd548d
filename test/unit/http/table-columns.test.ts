// The service reads each mapped table's columns once at start (issue 18, item 8): a mapped column
// the table lacks is a config error by path; a NOT NULL column makes a field required whatever
// the config says (the config can only narrow).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { startHarness } from './harness.js';

describe('columns introspected at start', () => {
  it('reports every mapped column the table lacks, by path', async () => {
    const err = await startHarness((api) => {
      const r = (api.resources as Record<string, { fields: Record<string, { column: string }> }>).customers!;
      r.fields.name!.column = 'cust_nmx';
      r.fields.notes!.column = 'nts';
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      'api.resources.customers.fields.name.column: custmast has no column cust_nmx',
      'api.resources.customers.fields.notes.column: custmast has no column nts',
    ]);
  });

  it('requires NOT NULL columns on create although the config says nullable', async () => {
    const h = await startHarness((api) => {
      const r = (api.resources as Record<string, { fields: Record<string, { nullable?: boolean }> }>)
        .customers!;
      delete r.fields.id!.nullable;
      delete r.fields.name!.nullable;
    });
    try {
      const doc = (await h.request('GET', '/api/openapi.json')).json;
      expect(doc.components.schemas.CustomersCreate.required).toEqual(['id', 'name']);
      expect(doc.components.schemas.Customers.properties.id).toEqual({ type: 'string', maxLength: 8 });
      const r = await h.request('POST', '/api/customers', { body: {} });
      expect(r.status).toBe(422);
      expect((r.json.errors as { path: string }[]).map((e) => e.path)).toEqual(['id', 'name']);
    } finally {
      await h.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { hashApiKey } from '../../../src/http/auth.js';
import { startHarness, type Harness } from './harness.js';

describe('OpenAPI 3.1 document and docs page', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness((api) => {
      api.auth = {
        apiKeys: [{ name: 'a', hash: hashApiKey('k'), roles: ['w'] }],
        jwt: { secret: 'x'.repeat(32) },
      };
      api.resources.customers.access = { anonymous: ['read'], w: ['read', 'create', 'update', 'delete'] };
    });
  });
  afterAll(() => h.close());

  it('is a valid OpenAPI 3.1 document according to a real validator', async () => {
    const r = await h.request('GET', '/api/openapi.json');
    expect(r.status).toBe(200);
    const res = await new Validator().validate(r.json);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(r.json.openapi).toBe('3.1.0');
  });

  it('describes each resource with schemas built from the codecs', async () => {
    const doc = (await h.request('GET', '/api/openapi.json')).json;
    const c = doc.components.schemas.Customers;
    expect(c.properties.createdOn).toMatchObject({
      anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }],
    });
    expect(c.properties.active).toEqual({ type: ['boolean', 'null'] });
    expect(c.properties.creditLimit.anyOf[0]).toEqual({ type: 'string', pattern: '^-?\\d+(\\.\\d{1,2})?$' });
    expect(c.properties.status.anyOf[0]).toMatchObject({ enum: ['active', 'inactive', 'hold'] });
    expect(doc.components.schemas.CustomersCreate.required).toEqual(['id', 'name']);
    expect(doc.components.schemas.CustomersCreate.additionalProperties).toBe(false);
    expect(doc.components.schemas.EventsCreate.required).toEqual(['message']);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/customers', '/api/customers/{key}', '/api/orders/{key}']),
    );
    expect(doc.paths['/api/customers'].get.security).toEqual([{}, { apiKey: [] }, { bearer: [] }]);
    expect(doc.paths['/api/customers'].post.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(doc.components.securitySchemes.apiKey).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
  });

  it('serves the docs page and its script from node_modules (no CDN)', async () => {
    const page = await h.request('GET', '/api/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('/api/docs/standalone.js');
    expect(page.text).not.toMatch(/https?:\/\//);
    const res = await h.app.request('/api/docs/standalone.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});

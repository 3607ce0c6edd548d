import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { hashApiKey } from '../../../src/http/auth.js';
import { checkedRequester } from '../../fixtures/rest/checked-request.js';
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
    // yyyymmdd reads a stored 0 as null: declared nullable even where the column is NOT NULL.
    expect(doc.components.schemas.Receipts.properties.receivedOn.anyOf[1]).toEqual({ type: 'null' });
    expect(doc.components.schemas.Receipts.properties.receiptNo).not.toHaveProperty('anyOf');
    expect(doc.components.schemas.CustomersCreate.additionalProperties).toBe(false);
    expect(doc.components.schemas.EventsCreate.required).toEqual(['message']);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/customers', '/api/customers/{id}', '/api/orders/{customerId},{orderNo}']),
    );
    expect(doc.paths['/api/customers'].get.security).toEqual([{}, { apiKey: [] }, { bearer: [] }]);
    expect(doc.paths['/api/customers'].post.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(doc.components.securitySchemes.apiKey).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
  });

  it('declares servers, license, HEAD, every status and header the server sends (issue 18, items 4-7)', async () => {
    const doc = (await h.request('GET', '/api/openapi.json')).json;
    expect(doc.servers).toEqual([{ url: 'http://localhost' }]);
    expect(doc.info.license).toEqual({ name: 'Proprietary' });
    const list = doc.paths['/api/customers'];
    const item = doc.paths['/api/customers/{id}'];
    expect(list.head.operationId).toBe('headCustomersList');
    expect(item.head.responses['200'].content).toBeUndefined();
    expect(doc.components.parameters.limit.schema).toMatchObject({ minimum: 1, maximum: 500 });
    const names = (op: { parameters: { $ref?: string; name?: string }[] }) =>
      op.parameters.map((p) => p.name ?? doc.components.parameters[p.$ref!.split('/').pop()!].name);
    expect(names(list.get)).toEqual(expect.arrayContaining(['and', 'or', 'not.or', 'not.and', 'balance']));
    const balance = list.get.parameters.find((p: { name?: string }) => p.name === 'balance');
    expect(balance).toMatchObject({ style: 'form', explode: true, schema: { type: 'array' } });
    expect(names(item.get)).toContain('If-None-Match');
    expect(Object.keys(list.post.responses)).toEqual(
      expect.arrayContaining(['201', '204', '409', '413', '422', '429', '501', '503']),
    );
    expect(Object.keys(list.post.responses['201'].headers)).toEqual(
      expect.arrayContaining(['Location', 'ETag', 'Preference-Applied', 'Idempotent-Replayed']),
    );
    expect(list.post.responses['204'].content).toBeUndefined();
    expect(doc.components.responses.Problem429.headers['Retry-After']).toBeDefined();
    expect(doc.components.responses.Problem503.content['application/problem+json']).toBeDefined();
    expect(doc.components.headers.ETag.required).toBe(true);
    // Rate limits are off here: no RateLimit-* headers declared.
    expect(doc.components.headers.RateLimitLimit).toBeUndefined();
  });

  it('declares RateLimit-* with limits on, and takes servers and license from the config', async () => {
    const limited = await startHarness((api) => {
      api.rateLimit = { limit: 3, window: '1m' };
      api.publicUrl = 'https://erp.example.org/sluice/';
      api.openapi = { license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } };
    });
    try {
      const doc = (await limited.request('GET', '/api/openapi.json')).json;
      expect(doc.servers).toEqual([{ url: 'https://erp.example.org/sluice' }]);
      expect(doc.info.license).toEqual({ name: 'Apache-2.0', identifier: 'Apache-2.0' });
      expect(Object.keys(doc.paths['/api/customers'].get.responses['200'].headers)).toEqual(
        expect.arrayContaining([
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'RateLimit-Policy',
        ]),
      );
      // Each response, the 429 too, matches the document (which is served outside the limits).
      const req = checkedRequester(limited.app);
      await req.check();
      const r = await req('GET', '/api/customers?limit=1');
      expect(r.headers.get('ratelimit-limit')).toBe('3');
      expect((await req('HEAD', '/api/customers/C0001')).status).toBe(200);
      expect((await req('GET', '/api/customers/C0001')).status).toBe(200);
      const over = await req('GET', '/api/customers/C0001');
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  }, 30_000);

  it('declares select and embed: GET rows have optional fields and relation properties (issue 18, items 1-2)', async () => {
    const doc = (await h.request('GET', '/api/openapi.json')).json;
    const sel = doc.components.schemas.CustomersSelection;
    expect(sel.required).toBeUndefined();
    expect(sel.additionalProperties).toBe(false);
    expect(sel.properties.orders).toEqual({
      description: expect.any(String),
      type: 'array',
      items: { $ref: '#/components/schemas/Orders' },
    });
    expect(sel.properties['orders@next']).toMatchObject({ type: 'string' });
    expect(doc.components.schemas.OrdersSelection.properties.customer.anyOf).toEqual([
      { $ref: '#/components/schemas/Customers' },
      { type: 'null' },
    ]);
    expect(
      doc.paths['/api/customers'].get.responses['200'].content['application/json'].schema.properties.data,
    ).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/CustomersSelection' },
    });
    // Write responses carry the whole row.
    expect(doc.components.schemas.Customers.required).toContain('notes');
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

// The change feed in the OpenAPI document: a valid 3.1 document with the /changes path item.
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../../src/http/auth.js';
import { startHarness, type Harness } from '../http/harness.js';

describe('change feed in the OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness((api) => {
      api.auth = { apiKeys: [{ name: 'a', hash: hashApiKey('k'), roles: ['w'] }] };
      api.resources.customers.access = { anonymous: ['read'], w: ['read'] };
    });
  });
  afterAll(() => h.close());

  it('documents GET /<resource>/changes for each resource, in a valid document', async () => {
    const doc = (await h.request('GET', '/api/openapi.json')).json;
    const res = await new Validator().validate(doc);
    expect(res.errors ?? []).toEqual([]);
    const op = doc.paths['/api/customers/changes'].get;
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '403', '410', '429', '500', '503']);
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream', 'application/json']);
    expect(op.parameters.map((p: { name?: string }) => p.name)).toEqual(
      expect.arrayContaining(['Last-Event-ID', 'after', 'from', 'wait', 'limit', 'status']),
    );
    expect(op.security).toEqual([{}, { apiKey: [] }]);
    expect(doc.paths['/api/orders/changes'].get.security).toEqual([{ apiKey: [] }]);
  });

  it('answers 503 problem+json when the service runs without a feed', async () => {
    const r = await h.request('GET', '/api/customers/changes');
    expect([r.status, r.headers.get('content-type')]).toEqual([503, 'application/problem+json']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../../src/http/auth.js';
import { startHarness, type Harness } from './harness.js';

describe('rate limiting', () => {
  let h: Harness;
  let clock = 1_000_000;
  beforeAll(async () => {
    h = await startHarness(
      (api) => {
        api.rateLimit = { limit: 3, window: '10s' };
        api.auth = { apiKeys: [{ name: 'a', hash: hashApiKey('key-a'), roles: ['r'] }] };
        api.resources.customers.access = { anonymous: ['read'], r: ['read'] };
      },
      () => clock,
    );
  });
  afterAll(() => h.close());

  it('counts per caller, sends RateLimit-* headers, answers 429 with Retry-After, and resets with the window', async () => {
    const first = await h.request('GET', '/api/customers?limit=1');
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    expect(first.headers.get('ratelimit-remaining')).toBe('2');
    expect(first.headers.get('ratelimit-policy')).toBe('3;w=10');
    await h.request('GET', '/api/customers?limit=1');
    await h.request('GET', '/api/customers?limit=1');
    const limited = await h.request('GET', '/api/customers?limit=1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another caller (an API key) has its own budget; health checks are never limited.
    expect(
      (await h.request('GET', '/api/customers?limit=1', { headers: { 'x-api-key': 'key-a' } })).status,
    ).toBe(200);
    expect((await h.request('GET', '/healthz')).status).toBe(200);
    clock += 10_000;
    expect((await h.request('GET', '/api/customers?limit=1')).status).toBe(200);
  });
});

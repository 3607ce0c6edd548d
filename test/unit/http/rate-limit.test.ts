import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../../src/http/auth.js';
import { fixtureApi, startHarness, type Harness } from './harness.js';

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

describe('rate limiting: failed authentication and proxies (issue 10, item 7)', () => {
  let clock = 1_000_000;
  const withKey = (key: string, xff?: string) => ({
    headers: { 'x-api-key': key, ...(xff ? { 'x-forwarded-for': xff } : {}) },
  });

  it('counts wrong API keys and tokens per client address: guessing past rateLimit gets 429 with Retry-After', async () => {
    const h = await startHarness(
      (api) => {
        api.rateLimit = { limit: 3, window: '10s' };
        api.auth = { apiKeys: [{ name: 'a', hash: hashApiKey('key-a'), roles: ['r'] }] };
      },
      () => clock,
    );
    try {
      for (let i = 0; i < 3; i++)
        expect((await h.request('GET', '/api/customers?limit=1', withKey(`guess-${i}`))).status).toBe(401);
      const limited = await h.request('GET', '/api/customers?limit=1', withKey('guess-3'));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Bearer tokens count the same way.
      expect(
        (await h.request('GET', '/api/customers', { headers: { authorization: 'Bearer not.a.jwt' } })).status,
      ).toBe(429);
      // A valid key is its own caller and keeps its budget.
      expect((await h.request('GET', '/api/customers?limit=1', withKey('key-a'))).status).toBe(200);
      clock += 10_000;
      expect((await h.request('GET', '/api/customers?limit=1', withKey('guess-4'))).status).toBe(401);
    } finally {
      await h.close();
    }
  });

  it('limits failed authentication without rateLimit (authFailureLimit, on by default)', async () => {
    expect(fixtureApi('sqlite::memory:').authFailureLimit).toEqual({ limit: 20, window: 60_000 });
    const h = await startHarness(
      (api) => {
        api.authFailureLimit = { limit: 5, window: '1m' };
        api.auth = { apiKeys: [{ name: 'a', hash: hashApiKey('key-a'), roles: ['r'] }] };
      },
      () => clock,
    );
    try {
      expect(h.api.rateLimit).toBeUndefined();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push((await h.request('GET', '/api/customers', withKey(`guess-${i}`))).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      // Successful callers are not limited when rateLimit is off.
      for (let i = 0; i < 7; i++)
        expect((await h.request('GET', '/api/customers?limit=1', withKey('key-a'))).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('with trustProxy, takes the client from the right of X-Forwarded-For: a spoofed leftmost entry gets no fresh budget', async () => {
    const h = await startHarness(
      (api) => {
        api.rateLimit = { limit: 2, window: '10s' };
        api.trustProxy = true; // one proxy: the rightmost entry is the address it saw
        api.auth = { apiKeys: [{ name: 'a', hash: hashApiKey('key-a'), roles: ['r'] }] };
      },
      () => clock,
    );
    try {
      expect(h.api.trustProxy).toBe(1);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await h.request('GET', '/api/customers', withKey(`guess-${i}`, `198.51.100.${i}, 203.0.113.7`)))
            .status,
        );
      expect(statuses).toEqual([401, 401, 429, 429]);
      // Another real client address (what the proxy appends) has its own budget.
      expect((await h.request('GET', '/api/customers', withKey('guess', '203.0.113.8'))).status).toBe(401);
    } finally {
      await h.close();
    }
  });

  it('with trustProxy: 2, the client is the second entry from the right', async () => {
    const h = await startHarness(
      (api) => {
        api.rateLimit = { limit: 1, window: '10s' };
        api.trustProxy = 2;
        api.resources.customers.access = { anonymous: ['read'] };
      },
      () => clock,
    );
    try {
      const get = (xff: string) =>
        h.request('GET', '/api/customers?limit=1', { headers: { 'x-forwarded-for': xff } });
      expect((await get('1.1.1.1, 203.0.113.7, 10.0.0.2')).status).toBe(200);
      // Same client behind the same proxies, spoofed prefix: limited.
      expect((await get('9.9.9.9, 203.0.113.7, 10.0.0.2')).status).toBe(429);
      // Another client through the same first proxy.
      expect((await get('203.0.113.9, 10.0.0.2')).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

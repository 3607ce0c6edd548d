import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '../../../src/http/auth.js';
import { startHarness, type Harness } from './harness.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const secret = 'a-test-secret-of-32-characters!!';
const sign = (
  claims: Record<string, unknown>,
  key: Uint8Array | PrivateKey = new TextEncoder().encode(secret),
  alg = 'HS256',
) => new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('5m').sign(key);

describe('auth: API keys, JWT, access, hidden fields, row filters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness((api) => {
      api.auth = {
        apiKeys: [
          { name: 'billing-app', hash: hashApiKey('k-writer'), roles: ['writer'] },
          { name: 'reporting', hash: hashApiKey('k-reader'), roles: ['reader'] },
        ],
        jwt: { secret },
      };
      api.resources.customers.access = {
        anonymous: ['read'],
        reader: ['read'],
        writer: ['read', 'create', 'update', 'delete'],
        customer: ['read', 'update'],
      };
      api.resources.customers.hiddenFields = {
        anonymous: ['creditLimit', 'balance'],
        customer: ['creditLimit'],
      };
      api.resources.customers.rowFilter = { role: 'customer', field: 'id', claim: 'sub' };
      api.resources.orders.access = { writer: ['read'] };
    });
  });
  afterAll(() => h.close());

  it('lets anonymous read without hidden fields, and refuses anonymous writes with 401', async () => {
    const r = await h.request('GET', '/api/customers/C0001');
    expect(r.status).toBe(200);
    expect(r.json).not.toHaveProperty('creditLimit');
    expect(r.json).not.toHaveProperty('balance');
    expect((await h.request('GET', '/api/customers?creditLimit=gt.1')).status).toBe(400);
    expect((await h.request('GET', '/api/customers?order=balance')).status).toBe(400);
    const w = await h.request('PATCH', '/api/customers/C0001', { body: { active: false } });
    expect(w.status).toBe(401);
    expect(w.headers.get('www-authenticate')).toBe('Bearer');
    expect((await h.request('GET', '/api/orders')).status).toBe(401);
  });

  it('accepts API keys by hash and answers 403 for a role without the action', async () => {
    const reader = { 'x-api-key': 'k-reader' };
    const r = await h.request('GET', '/api/customers/C0001', { headers: reader });
    expect(r.json).toHaveProperty('creditLimit', '10.00');
    expect(
      (await h.request('PATCH', '/api/customers/C0001', { body: { active: false }, headers: reader })).status,
    ).toBe(403);
    expect((await h.request('GET', '/api/orders', { headers: reader })).status).toBe(403);
    expect(
      (
        await h.request('PATCH', '/api/customers/C0001', {
          body: { active: false },
          headers: { 'x-api-key': 'k-writer' },
        })
      ).status,
    ).toBe(200);
    expect((await h.request('GET', '/api/customers', { headers: { 'x-api-key': 'wrong' } })).status).toBe(
      401,
    );
  });

  it('verifies JWTs and applies the row filter bound to a claim', async () => {
    const token = await sign({ sub: 'C0002', roles: ['customer'] });
    const auth = { authorization: `Bearer ${token}` };
    const list = await h.request('GET', '/api/customers', { headers: auth });
    expect(list.json.data.map((d: { id: string }) => d.id)).toEqual(['C0002']);
    expect(list.json.data[0]).toHaveProperty('balance');
    expect(list.json.data[0]).not.toHaveProperty('creditLimit');
    expect((await h.request('GET', '/api/customers/C0003', { headers: auth })).status).toBe(404);
    expect(
      (await h.request('PATCH', '/api/customers/C0003', { body: { active: true }, headers: auth })).status,
    ).toBe(404);
    expect(
      (await h.request('PATCH', '/api/customers/C0002', { body: { active: true }, headers: auth })).status,
    ).toBe(200);
    expect(
      (await h.request('PATCH', '/api/customers/C0002', { body: { creditLimit: '1.00' }, headers: auth }))
        .status,
    ).toBe(422);
    const noSub = await sign({ roles: ['customer'] });
    expect(
      (await h.request('GET', '/api/customers', { headers: { authorization: `Bearer ${noSub}` } })).status,
    ).toBe(403);
    const forged = await sign(
      { sub: 'C0002', roles: ['writer'] },
      new TextEncoder().encode('another-secret-of-32-characters!'),
    );
    expect(
      (await h.request('GET', '/api/customers', { headers: { authorization: `Bearer ${forged}` } })).status,
    ).toBe(401);
    expect(
      (await h.request('GET', '/api/customers', { headers: { authorization: 'Basic abc' } })).status,
    ).toBe(401);
  });
});

describe('auth: JWKS file with issuer and audience', () => {
  let h: Harness;
  let privateKey: PrivateKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
    const dir = await mkdtemp(join(tmpdir(), 'sluice-jwks-'));
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [jwk] }));
    h = await startHarness((api) => {
      api.auth = { jwt: { jwksFile: file, issuer: 'https://idp.test', audience: 'sluice' } };
    });
  });
  afterAll(() => h.close());

  const rs = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);

  it('accepts a token from the issuer for the audience, and 401s otherwise (no access: any authenticated caller)', async () => {
    const ok = await rs({ sub: 'u1', iss: 'https://idp.test', aud: 'sluice' });
    expect(
      (await h.request('GET', '/api/customers?limit=1', { headers: { authorization: `Bearer ${ok}` } }))
        .status,
    ).toBe(200);
    const wrongAud = await rs({ sub: 'u1', iss: 'https://idp.test', aud: 'other' });
    expect(
      (await h.request('GET', '/api/customers', { headers: { authorization: `Bearer ${wrongAud}` } })).status,
    ).toBe(401);
    expect((await h.request('GET', '/api/customers')).status).toBe(401);
  });
});

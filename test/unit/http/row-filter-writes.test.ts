// Row filters hold on writes as PostgreSQL RLS `WITH CHECK` does: a caller limited to its rows
// can neither reach another row nor move one of its rows out of its scope (issue 10, item 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { migrateApi } from '../../../src/http/server.js';
import { startHarness, type Harness } from './harness.js';

const secret = 'a-test-secret-of-32-characters!!';
const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

describe('row filters on PUT, PATCH and POST (SQLite)', () => {
  let h: Harness;
  let auth: Record<string, string>;
  const stored = async (id: string) =>
    (await h.rt.databases[0]!.knex('custmast').where('cust_no', id.padEnd(8, ' ')).first()) as
      Record<string, unknown> | undefined;

  beforeAll(async () => {
    h = await startHarness((api) => {
      api.auth = { jwt: { secret } };
      // An agent works on the customers of its own status ("desk"): hold customers only.
      api.resources.customers.access = { agent: ['read', 'create', 'update'] };
      api.resources.customers.rowFilter = { role: 'agent', field: 'status', claim: 'desk' };
    });
    auth = { authorization: `Bearer ${await sign({ sub: 'u1', desk: 'hold', roles: ['agent'] })}` };
  });
  afterAll(() => h.close());

  it('refuses a PATCH that moves a visible row out of the filter (403) and leaves the row as it was', async () => {
    // C0002 is a hold customer: visible to the agent.
    expect((await h.request('GET', '/api/customers/C0002', { headers: auth })).status).toBe(200);
    const r = await h.request('PATCH', '/api/customers/C0002', {
      body: { status: 'active' },
      headers: auth,
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.json).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await stored('C0002'))!.stat_cd).toBe('H');
    // A change inside the scope still works.
    const ok = await h.request('PATCH', '/api/customers/C0002', { body: { active: false }, headers: auth });
    expect(ok.status).toBe(200);
    expect((await stored('C0002'))!.actv_flg).toBe('N');
  });

  it('refuses a PUT that replaces the filtered field with another value or with null (403), nothing written', async () => {
    const base = { name: 'MOVED', active: true };
    for (const body of [{ ...base, status: 'inactive' }, base]) {
      const r = await h.request('PUT', '/api/customers/C0005', { body, headers: auth });
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      const row = (await stored('C0005'))!;
      expect(row.stat_cd).toBe('H');
      expect(String(row.cust_nm).trimEnd()).toBe('CUSTOMER 5');
    }
    const ok = await h.request('PUT', '/api/customers/C0005', {
      body: { ...base, status: 'hold' },
      headers: auth,
    });
    expect(ok.status).toBe(200);
    expect(String((await stored('C0005'))!.cust_nm).trimEnd()).toBe('MOVED');
  });

  it('answers 404 for a row outside the filter, on PATCH and PUT, and writes nothing', async () => {
    // C0001 is inactive: not visible at all.
    for (const method of ['PATCH', 'PUT'])
      expect(
        (
          await h.request(method, '/api/customers/C0001', {
            body: { name: 'X', status: 'hold' },
            headers: auth,
          })
        ).status,
      ).toBe(404);
    const row = (await stored('C0001'))!;
    expect(row.stat_cd).toBe('I');
    expect(String(row.cust_nm).trimEnd()).toBe('CUSTOMER 1');
  });

  it('refuses a POST of a row outside the filter (403) and creates nothing; inside it, 201', async () => {
    for (const body of [
      { id: 'RF01', name: 'OTHER DESK', status: 'active' },
      { id: 'RF02', name: 'NO DESK' },
    ]) {
      const r = await h.request('POST', '/api/customers', { body, headers: auth });
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(await stored(body.id)).toBeUndefined();
    }
    const ok = await h.request('POST', '/api/customers', {
      body: { id: 'RF03', name: 'MY DESK', status: 'hold' },
      headers: auth,
    });
    expect(ok.status).toBe(201);
    expect((await stored('RF03'))!.stat_cd).toBe('H');
  });

  it('checks the row as stored after the write, in its transaction: a trigger moving it out of the filter is refused', async () => {
    // A legacy trigger reassigns the customer when its name changes; the check must see the stored
    // row, not only the request body.
    const knex = h.rt.databases[0]!.knex;
    await knex.raw(
      `CREATE TRIGGER custmast_desk AFTER UPDATE OF cust_nm ON custmast WHEN NEW.cust_nm LIKE 'REASSIGN%'
       BEGIN UPDATE custmast SET stat_cd = 'A' WHERE cust_no = NEW.cust_no; END`,
    );
    try {
      const r = await h.request('PATCH', '/api/customers/C0008', {
        body: { name: 'REASSIGN ME' },
        headers: auth,
      });
      expect(r.status).toBe(403);
      const row = (await stored('C0008'))!;
      expect(row.stat_cd).toBe('H');
      expect(String(row.cust_nm).trimEnd()).toBe('CUSTOMER 8');
    } finally {
      await knex.raw('DROP TRIGGER custmast_desk');
    }
  });

  it('checks the stored row after a POST too: an insert trigger moving it out of the filter is refused, nothing created', async () => {
    const knex = h.rt.databases[0]!.knex;
    await knex.raw(
      `CREATE TRIGGER custmast_new_desk AFTER INSERT ON custmast WHEN NEW.cust_nm LIKE 'REASSIGN%'
       BEGIN UPDATE custmast SET stat_cd = 'A' WHERE cust_no = NEW.cust_no; END`,
    );
    try {
      const r = await h.request('POST', '/api/customers', {
        body: { id: 'RF04', name: 'REASSIGN ME', status: 'hold' },
        headers: auth,
      });
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(await stored('RF04')).toBeUndefined();
      // With an Idempotency-Key the refusal rolls back the key's record too: nothing to replay.
      await migrateApi(h.api, [], false);
      const k = await h.request('POST', '/api/customers', {
        body: { id: 'RF05', name: 'REASSIGN ME', status: 'hold' },
        headers: { ...auth, 'idempotency-key': 'rf-5' },
      });
      expect(k.status).toBe(403);
      expect(await stored('RF05')).toBeUndefined();
      expect(await knex('sluice_idempotency').where({ idem_key: 'rf-5' })).toEqual([]);
    } finally {
      await knex.raw('DROP TRIGGER custmast_new_desk');
    }
  });
});

// The REST contract every tested database must pass: the legacy fixture configured only in YAML,
// listed, filtered through codecs, paged under concurrent writes, read, written, and attacked.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import type { Knex } from 'knex';
import { SignJWT } from 'jose';
import { parse } from 'yaml';
import { openDatabase, type ApiDatabase } from '../../../src/sql/database.js';
import { parseConfig, parseConfigText } from '../../../src/config/load.js';
import type { AppEnv } from '../../../src/http/env.js';
import {
  createApiRuntime,
  createAppFromRuntime,
  migrateApi,
  type ApiRuntime,
} from '../../../src/http/server.js';
import { checkedRequester, type CheckedRequester } from '../../fixtures/rest/checked-request.js';
import { compileGeneratedClient, redoclyLint } from '../../support/openapi-tools.js';
import {
  createLegacySchema,
  custId,
  customerCount,
  customerRow,
  type Flavor,
} from '../../fixtures/rest/legacy-db.js';

export interface RestBackend {
  readonly flavor: Flavor;
  /** Starts the database; `url` is what the config's ${DB_URL} becomes. */
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const yaml = readFileSync(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8');
const clientUsage = readFileSync(new URL('../../fixtures/rest/client-usage.ts.txt', import.meta.url), 'utf8');

type Body = Record<string, unknown>;

export function restSuite(name: string, backend: RestBackend, skip?: string): void {
  describe.skipIf(skip !== undefined)(`REST API on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let stopDb: (() => Promise<void>) | undefined;
    let rt: ApiRuntime;
    let app: Hono<AppEnv>;
    let seedDb: ApiDatabase;
    let knex: Knex;

    // Every request of the suite goes through the served OpenAPI document's checker.
    let req: CheckedRequester;
    const rowCount = async (table: string) =>
      Number(((await knex(table).count({ n: '*' }).first()) as { n: number | string }).n);

    beforeAll(async () => {
      const db = await backend.start();
      stopDb = () => db.stop();
      seedDb = await openDatabase(db.url);
      knex = seedDb.knex;
      await createLegacySchema(knex, backend.flavor);
      const cfg = parseConfigText(yaml, { DB_URL: db.url });
      // The explicit step that installs the idempotency table (serving never creates it).
      await migrateApi(cfg.api!, [], false);
      rt = await createApiRuntime(cfg.api!, []);
      app = createAppFromRuntime(cfg.api!, rt);
      req = checkedRequester(app);
    });

    afterAll(async () => {
      await rt?.close();
      await seedDb?.close();
      await stopDb?.();
    });

    it('lists the first page with codecs applied, a cursor and a Link header', async () => {
      const r = await req('GET', '/api/customers');
      expect(r.status).toBe(200);
      const data = r.json.data as Body[];
      expect(data).toHaveLength(50);
      expect(data[0]).toEqual({
        id: 'C0001',
        name: 'CUSTOMER 1',
        active: true,
        createdOn: '2020-02-02',
        balance: '10.01',
        creditLimit: '10.00',
        status: 'inactive',
        updatedAt: '2024-07-02T08:00:00Z',
        notes: null,
      });
      expect(typeof r.json.next).toBe('string');
      expect(r.headers.get('link')).toMatch(/^<\/api\/customers\?cursor=[A-Za-z0-9_-]+>; rel="next"$/);
    });

    it('filters through codecs: ?active=eq.false means actv_flg = N', async () => {
      const r = await req('GET', '/api/customers?active=eq.false&limit=500');
      const ids = (r.json.data as Body[]).map((d) => d.id);
      expect(ids).toHaveLength(customerCount / 3);
      expect((r.json.data as Body[]).every((d) => d.active === false)).toBe(true);
      expect((await req('GET', '/api/customers?createdOn=gte.2020-12-01&limit=500')).json.data).toHaveLength(
        10,
      );
      expect(
        (await req('GET', '/api/customers?status=in.(hold,active)&active=is.true&limit=500')).json.data,
      ).toHaveLength(40);
      expect((await req('GET', '/api/customers?creditLimit=gt.1000&limit=500')).json.data).toHaveLength(20);
      expect((await req('GET', '/api/customers?name=like.CUSTOMER 11*&limit=500')).json.data).toHaveLength(
        11,
      );
      expect((await req('GET', '/api/customers?name=ilike.customer 11*&limit=500')).json.data).toHaveLength(
        11,
      );
      expect((await req('GET', '/api/customers?name=not.like.CUSTOMER 1*&limit=500')).json.data).toHaveLength(
        120 - 32,
      );
      expect((await req('GET', '/api/customers?notes=not.is.null&limit=500')).json.data).toHaveLength(30);
      expect(
        (await req('GET', '/api/customers?or=(id.eq.C0002,and(status.eq.hold,balance.lt.100))&limit=500'))
          .json.data,
      ).toHaveLength(3);
      expect(
        (await req('GET', '/api/customers?updatedAt=lt.2024-07-02T09:00:00Z&limit=500')).json.data,
      ).toHaveLength(8);
    });

    it('orders, selects and counts', async () => {
      const r = await req('GET', '/api/customers?order=status.desc,balance.desc&select=id,status&limit=3', {
        headers: { prefer: 'count=exact' },
      });
      // Enums order by their stored codes: I > H > A.
      expect(r.json.data).toEqual([
        { id: 'C0118', status: 'inactive' },
        { id: 'C0115', status: 'inactive' },
        { id: 'C0112', status: 'inactive' },
      ]);
      expect(r.json.count).toBe(customerCount);
      expect(r.headers.get('content-range')).toBe(`0-2/${customerCount}`);
      expect(r.headers.get('preference-applied')).toBe('count=exact');
      const est = await req('GET', '/api/customers?limit=1', { headers: { prefer: 'count=estimated' } });
      expect(typeof est.json.count).toBe('number');
    });

    it('pages through every row exactly once while rows are inserted and deleted', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let extra = 0;
      const deleted = new Set<string>();
      for (let page = 0; page < 100; page++) {
        const qs: string = cursor ? `&cursor=${cursor}` : '';
        const r = await req('GET', `/api/customers?order=balance.desc&limit=7${qs}`);
        expect(r.status).toBe(200);
        seen.push(...(r.json.data as Body[]).map((d) => d.id as string));
        cursor = r.json.next as string | null;
        // Writes between pages: a new row at each end of the order, and one row deleted behind us.
        const lo = customerRow(1000 + extra);
        const hi = { ...customerRow(2000 + extra), bal_amt: '999999.00' };
        extra++;
        await knex('custmast').insert([
          { ...lo, cust_no: `N${String(extra).padStart(4, '0')}`.padEnd(8, ' '), bal_amt: '0.00' },
          { ...hi, cust_no: `M${String(extra).padStart(4, '0')}`.padEnd(8, ' ') },
        ]);
        const gone = seen[seen.length - 1];
        if (gone && page % 2 === 0 && gone.startsWith('C')) {
          await knex('custmast').where('cust_no', gone.padEnd(8, ' ')).delete();
          deleted.add(gone);
        }
        if (!cursor) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      const originals = seen.filter((id) => id.startsWith('C'));
      expect(new Set(originals).size).toBe(customerCount);
      await knex('custmast').where('cust_no', 'like', 'N%').orWhere('cust_no', 'like', 'M%').delete();
      for (const id of deleted) await knex('custmast').insert(customerRow(Number(id.slice(1))));
    });

    it('gets by CHAR key and by composite key, with ETag and 304', async () => {
      const r = await req('GET', '/api/customers/C0004');
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ id: 'C0004', name: 'CUSTOMER 4', notes: { tier: 4 } });
      const etag = r.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect((await req('GET', '/api/customers/C0004', { headers: { 'if-none-match': etag } })).status).toBe(
        304,
      );
      const o = await req('GET', '/api/orders/C0003,2');
      expect(o.json).toEqual({ customerId: 'C0003', orderNo: 2, total: '3.02', shipped: false });
      const missing = await req('GET', '/api/customers/NOPE');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
      expect(missing.json).toMatchObject({ status: 404, title: 'Not Found', code: 'NOT_FOUND' });
      expect((await req('GET', '/api/orders/C0003')).status).toBe(400);
    });

    it('embeds related rows one level deep', async () => {
      const r = await req('GET', '/api/customers?id=in.(C0003,C0004,C0005)&embed=orders&select=id');
      expect(r.json.data).toEqual([
        {
          id: 'C0003',
          orders: [
            expect.objectContaining({ orderNo: 1 }),
            expect.objectContaining({ orderNo: 2 }),
            expect.objectContaining({ orderNo: 3 }),
          ],
        },
        { id: 'C0004', orders: [] },
        { id: 'C0005', orders: [expect.objectContaining({ customerId: 'C0005', orderNo: 1 })] },
      ]);
      const o = await req('GET', '/api/orders/C0002,1?embed=customer');
      expect(o.json.customer).toMatchObject({ id: 'C0002', name: 'CUSTOMER 2' });
    });

    it('bounds the children embedded per parent and links to the rest (issue 10, item 8)', async () => {
      const cfg = parseConfigText(yaml, { DB_URL: seedDb.url });
      const api = { ...cfg.api!, embedLimit: 2 };
      const bounded = await createApiRuntime(api, []);
      try {
        const app2 = checkedRequester(createAppFromRuntime(api, bounded));
        const r = await app2('GET', '/api/customers?id=in.(C0002,C0003,C0007)&embed=orders&select=id');
        expect(r.status).toBe(200);
        const [c2, c3, c7] = r.json.data as Body[];
        // C0002 has 2 orders (all of them, no link); C0003 and C0007 have 3: two, and a link.
        expect((c2!.orders as Body[]).map((o) => o.orderNo)).toEqual([1, 2]);
        expect(c2).not.toHaveProperty('orders@next');
        expect((c3!.orders as Body[]).map((o) => o.orderNo)).toEqual([1, 2]);
        expect((c7!.orders as Body[]).map((o) => o.orderNo)).toEqual([1, 2]);
        const link = c3!['orders@next'] as string;
        expect(link).toMatch(/^\/api\/orders\?customerId=eq\.[^&]+&limit=2&cursor=[A-Za-z0-9_-]+$/);
        const rest = await app2('GET', link);
        expect(rest.status).toBe(200);
        expect(rest.json.data).toEqual([expect.objectContaining({ customerId: 'C0003', orderNo: 3 })]);
        expect(rest.json.next).toBeNull();
        // One item: a `one` relation reads one row per parent.
        const o = await app2('GET', '/api/orders?customerId=eq.C0003&embed=customer');
        expect((o.json.data as Body[]).map((d) => (d.customer as Body).id)).toEqual([
          'C0003',
          'C0003',
          'C0003',
        ]);
      } finally {
        await bounded.close();
      }
    });

    it('keeps row-filtered writers inside their filter: moving a row out is a 403 and writes nothing (issue 10, item 6)', async () => {
      const secret = 'a-test-secret-of-32-characters!!';
      const raw = parse(yaml) as Body & { api: Body & { resources: Record<string, Body> } };
      raw.api.auth = { jwt: { secret } };
      raw.api.resources.customers!.access = { agent: ['read', 'create', 'update'] };
      raw.api.resources.customers!.rowFilter = { role: 'agent', field: 'status', claim: 'desk' };
      const api = parseConfig(raw, { DB_URL: seedDb.url }).api!;
      const filtered = await createApiRuntime(api, []);
      try {
        const app2 = checkedRequester(createAppFromRuntime(api, filtered));
        const token = await new SignJWT({ sub: 'u1', desk: 'hold', roles: ['agent'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(secret));
        const headers = { authorization: `Bearer ${token}` };
        const stored = async (id: string) =>
          (await knex('custmast').where('cust_no', id.padEnd(8, ' ')).first()) as Body;
        // C0011 is a hold customer.
        const patch = await app2('PATCH', '/api/customers/C0011', {
          body: { status: 'active' },
          headers,
        });
        expect(patch.status).toBe(403);
        expect(patch.headers.get('content-type')).toBe('application/problem+json');
        const put = await app2('PUT', '/api/customers/C0011', {
          body: { name: 'MOVED', status: 'inactive' },
          headers,
        });
        expect(put.status).toBe(403);
        expect(await stored('C0011')).toMatchObject({ stat_cd: 'H' });
        expect(String((await stored('C0011')).cust_nm).trimEnd()).toBe('CUSTOMER 11');
        const post = await app2('POST', '/api/customers', {
          body: { id: 'RFX1', name: 'ELSEWHERE', status: 'active' },
          headers,
        });
        expect(post.status).toBe(403);
        expect(await stored('RFX1')).toBeUndefined();
        // C0001 (inactive) is not visible at all.
        expect(
          (await app2('PATCH', '/api/customers/C0001', { body: { status: 'hold' }, headers })).status,
        ).toBe(404);
        expect(await stored('C0001')).toMatchObject({ stat_cd: 'I' });
      } finally {
        await filtered.close();
      }
    });

    it('creates, replaces, patches with If-Match and deletes', async () => {
      const body = {
        id: 'Z0001',
        name: 'NEW CO',
        active: true,
        createdOn: '2025-02-28',
        balance: '12.50',
        creditLimit: '100.25',
        status: 'hold',
      };
      const c = await req('POST', '/api/customers', { body });
      expect(c.status).toBe(201);
      expect(c.headers.get('location')).toBe('/api/customers/Z0001');
      expect(c.json).toMatchObject({ ...body, updatedAt: null, notes: null });
      const stored = (await knex('custmast').where('cust_no', 'Z0001   ').first()) as Body;
      expect(stored).toMatchObject({ actv_flg: 'Y', crt_dt: 20250228, cr_lmt_cents: 10025, stat_cd: 'H' });
      expect(String(stored.cust_nm).trimEnd()).toBe('NEW CO');

      expect((await req('POST', '/api/customers', { body })).status).toBe(409);
      const etag = c.headers.get('etag')!;
      const p = await req('PATCH', '/api/customers/Z0001', {
        body: { active: false, updatedAt: '2025-01-01T12:00:00Z' },
        headers: { 'if-match': etag },
      });
      expect(p.status).toBe(200);
      expect(p.json).toMatchObject({ active: false, updatedAt: '2025-01-01T12:00:00Z' });
      expect(String(((await knex('custmast').where('cust_no', 'Z0001   ').first()) as Body).upd_ts)).toMatch(
        /^2025-01-01[ T]13:00:00/,
      );
      const stale = await req('PATCH', '/api/customers/Z0001', {
        body: { active: true },
        headers: { 'if-match': etag },
      });
      expect(stale.status).toBe(412);
      expect(stale.headers.get('content-type')).toBe('application/problem+json');

      const put = await req('PUT', '/api/customers/Z0001', {
        body: { name: 'REPLACED' },
        headers: { 'if-match': p.headers.get('etag')!, prefer: 'return=minimal' },
      });
      expect(put.status).toBe(204);
      expect((await req('GET', '/api/customers/Z0001')).json).toMatchObject({
        name: 'REPLACED',
        active: null,
        balance: null,
      });
      expect((await req('PATCH', '/api/customers/Z0001', { body: { id: 'Z0002' } })).status).toBe(422);
      expect(
        (await req('DELETE', '/api/customers/Z0001', { headers: { 'if-match': '"stale"' } })).status,
      ).toBe(412);
      expect((await req('DELETE', '/api/customers/Z0001')).status).toBe(204);
      expect((await req('GET', '/api/customers/Z0001')).status).toBe(404);
      expect((await req('DELETE', '/api/customers/Z0001')).status).toBe(404);
    });

    it('rejects bad bodies with 422/400/415 problem+json listing the zod issues', async () => {
      const r = await req('POST', '/api/customers', {
        body: { id: 'TOO-LONG-ID', active: 'Y', createdOn: '2025-02-30', balance: 1.5, extra: 1 },
      });
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      const paths = (r.json.errors as { path: string }[]).map((e) => e.path).sort();
      expect(paths).toEqual(['(body)', 'active', 'balance', 'createdOn', 'id', 'name']);
      expect((await req('POST', '/api/customers', { body: '{"id": ' })).status).toBe(400);
      expect((await req('POST', '/api/customers', { body: '[]' })).status).toBe(422);
      expect(
        (await req('POST', '/api/customers', { body: 'x', headers: { 'content-type': 'text/plain' } }))
          .status,
      ).toBe(415);
      expect((await req('POST', '/api/orders', { body: { customerId: 'C0001', orderNo: 1.5 } })).status).toBe(
        422,
      );
    });

    it('replays an Idempotency-Key POST from the database and refuses a changed body', async () => {
      const headers = { 'idempotency-key': `k-${name}-1` };
      const a = await req('POST', '/api/events', { body: { message: 'hello' }, headers });
      const b = await req('POST', '/api/events', { body: { message: 'hello' }, headers });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.json).toEqual(a.json);
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      expect(typeof a.json.id).toBe('number');
      expect(await rowCount('evtlog')).toBe(1);
      // One record for the key: the replay read it, it did not write a second one.
      const records = async () =>
        Number(
          (
            (await knex('sluice_idempotency')
              .where({ idem_key: headers['idempotency-key'] })
              .count({ n: '*' })
              .first()) as { n: number | string }
          ).n,
        );
      expect(await records()).toBe(1);
      expect(await rowCount('sluice_idempotency')).toBe(1);
      expect((await req('POST', '/api/events', { body: { message: 'other' }, headers })).status).toBe(422);
      expect(await records()).toBe(1);
      expect(await rowCount('evtlog')).toBe(1);
      const m = await req('POST', '/api/events', {
        body: { message: 'minimal' },
        headers: { prefer: 'return=minimal' },
      });
      expect(m.status).toBe(204);
      expect(m.text).toBe('');
      expect(m.headers.get('location')).toMatch(/^\/api\/events\/\d+$/);
    });

    it('runs concurrent POSTs with one Idempotency-Key exactly once', async () => {
      const before = await rowCount('evtlog');
      const headers = { 'idempotency-key': `k-${name}-race` };
      const all = await Promise.all(
        Array.from({ length: 6 }, () => req('POST', '/api/events', { body: { message: 'race' }, headers })),
      );
      expect(await rowCount('evtlog')).toBe(before + 1);
      const created = all.filter((r) => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const r of all) expect([201, 409]).toContain(r.status);
      expect(new Set(created.map((r) => r.json.id)).size).toBe(1);
    });

    it('answers 400 to injection attempts in every parameter and leaves the table unchanged', async () => {
      const before = await rowCount('custmast');
      const evil = [
        "'; DROP TABLE custmast; --",
        '1 OR 1=1',
        "C0001' OR '1'='1",
        '") OR 1=1 --',
        'cust_no',
        '*/ UNION SELECT * FROM custmast --',
      ];
      for (const e of evil) {
        const q = encodeURIComponent(e);
        for (const path of [
          `/api/customers?${q}=eq.1`,
          `/api/customers?active=eq.${q}`,
          `/api/customers?creditLimit=gt.${q}`,
          `/api/customers?order=${q}`,
          `/api/customers?select=${q}`,
          `/api/customers?cursor=${q}`,
          `/api/customers?limit=${q}`,
          `/api/customers?embed=${q}`,
          `/api/customers?or=(${q})`,
          `/api/customers?id=${q}`,
          `/api/orders/C0001,${q}`,
        ]) {
          const r = await req('GET', path);
          expect(r.status, `${path}`).toBe(400);
        }
        // A string key is looked up verbatim (too long for CHAR(8): 400; else the row does not exist).
        expect([400, 404]).toContain((await req('GET', `/api/customers/${q}`)).status);
        expect((await req('GET', `/api/customers?name=eq.${q}`)).json.data).toEqual([]);
        // In a body it is only data: stored verbatim, bound as a parameter.
        const created = await req('POST', '/api/customers', { body: { id: 'INJ1', name: e.slice(0, 30) } });
        expect(created.status).toBe(201);
        expect(created.json.name).toBe(e.slice(0, 30).trimEnd());
        expect((await req('DELETE', '/api/customers/INJ1')).status).toBe(204);
      }
      expect(await rowCount('custmast')).toBe(before);
      expect((await req('GET', '/api/customers/C0001')).status).toBe(200);
    });

    it('shows legacy "no value" markers as null, declares them, and filters on what it shows (issue 18, items 3 and 10)', async () => {
      const all = await req('GET', '/api/receipts?order=receiptNo');
      expect(all.json.data).toMatchObject([
        { receiptNo: 1, receivedOn: '2024-01-05', reorder: true, quantity: '10.50', bin: 'A1', memo: null },
        { receiptNo: 2, receivedOn: null, reorder: null, quantity: '0.00' },
        { receiptNo: 3, receivedOn: '2024-02-20', reorder: null },
        { receiptNo: 4, receivedOn: '2024-03-01', reorder: false },
      ]);
      const ids = async (q: string) =>
        ((await req('GET', `/api/receipts?order=receiptNo&${q}`)).json.data as Body[]).map(
          (d) => d.receiptNo,
        );
      expect(await ids('receivedOn=is.null')).toEqual([2]);
      expect(await ids('receivedOn=not.is.null')).toEqual([1, 3, 4]);
      expect(await ids('receivedOn=lt.2024-02-01')).toEqual([1]);
      expect(await ids('receivedOn=not.gte.2024-02-01')).toEqual([1]);
      expect(await ids('receivedOn=neq.2024-01-05')).toEqual([3, 4]);
      expect(await ids('receivedOn=not.in.(2024-01-05)')).toEqual([3, 4]);
      expect(await ids('reorder=is.null')).toEqual([2, 3]);
      expect(await ids('reorder=not.is.null')).toEqual([1, 4]);
      expect(await ids('reorder=neq.true')).toEqual([4]);
      expect(await ids('reorder=in.(true,false)')).toEqual([1, 4]);
      expect(await ids('or=(reorder.is.null,receivedOn.is.null)')).toEqual([2, 3]);
      // Row 3's reorder is null: `is.true` is unknown there, and so is its negation (SQL's logic).
      expect(await ids('not.or=(reorder.is.true,receivedOn.is.null)')).toEqual([4]);
    });

    it('takes required fields, lengths and precision from the table, the config only narrowing (issue 18, item 8)', async () => {
      const doc = (await req.check()).document as {
        components: { schemas: Record<string, { required?: string[]; properties: Record<string, Body> }> };
      };
      const create = doc.components.schemas.ReceiptsCreate!;
      // NOT NULL without a default: required; bin has a default, memo is nullable.
      expect(create.required).toEqual(expect.arrayContaining(['receivedOn', 'reorder', 'quantity']));
      expect(create.required).not.toContain('bin');
      expect(create.required).not.toContain('memo');
      expect(create.properties.bin).toMatchObject({ maxLength: 20 });
      expect(create.properties.memo).toMatchObject({ anyOf: [{ maxLength: 40 }, { type: 'null' }] });
      expect(create.properties.quantity).toMatchObject({ pattern: '^-?\\d{1,5}(\\.\\d{1,2})?$' });
      expect(doc.components.schemas.Customers!.properties.name).toMatchObject({ maxLength: 30 });
      expect((await req('POST', '/api/receipts', { body: {} })).status).toBe(422);
      const tooPrecise = await req('POST', '/api/receipts', {
        body: { receiptNo: 9, receivedOn: '2024-05-01', reorder: true, quantity: '123456.1' },
      });
      expect(tooPrecise.status).toBe(422);
      expect((tooPrecise.json.errors as Body[]).map((e) => e.path)).toEqual(['quantity']);
      const made = await req('POST', '/api/receipts', {
        body: { receiptNo: 9, receivedOn: '2024-05-01', reorder: true, quantity: '12345.10' },
      });
      expect(made.status).toBe(201);
      expect(made.json).toMatchObject({ bin: 'MAIN', memo: null, quantity: '12345.10' });
      expect((await req('DELETE', '/api/receipts/9')).status).toBe(204);
    });

    it('answers HEAD and declares it (issue 18, item 7)', async () => {
      const h = await req('HEAD', '/api/customers/C0001');
      expect(h.status).toBe(200);
      expect(h.headers.get('etag')).toMatch(/^"/);
      expect(h.text).toBe('');
      expect((await req('HEAD', '/api/customers?limit=2')).status).toBe(200);
    });

    it('lets yn fields keep or refuse unknown letters, as configured (issue 18, item 3)', async () => {
      for (const [unknown, expected] of [
        ['raw', 200],
        ['error', 500],
      ] as const) {
        const raw = parse(yaml) as Body & {
          api: Body & { resources: Record<string, Body & { fields: Body }> };
        };
        raw.api.resources.receipts!.fields.reorder = { column: 'reord', codec: 'yn', options: { unknown } };
        const api = parseConfig(raw, { DB_URL: seedDb.url }).api!;
        const rt2 = await createApiRuntime(api, []);
        try {
          const app2 = checkedRequester(createAppFromRuntime(api, rt2));
          const r = await app2('GET', '/api/receipts?order=receiptNo');
          expect(r.status).toBe(expected);
          if (unknown === 'raw')
            expect((r.json.data as Body[]).map((d) => d.reorder)).toEqual([true, '', 'X', false]);
          else expect(r.json).toMatchObject({ code: 'STORED_VALUE_INVALID', status: 500 });
          expect((await app2('GET', '/api/receipts/1')).json.reorder).toBe(true);
        } finally {
          await rt2.close();
        }
      }
    });

    it('serves an OpenAPI document that Redocly lints without errors (recommended rules)', async () => {
      const problems = await redoclyLint((await req.check()).document);
      expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    }, 120_000);

    it('serves an OpenAPI document from which openapi-typescript generates a client that compiles against real usage', async () => {
      expect(await compileGeneratedClient((await req.check()).document, clientUsage)).toBe('');
    }, 120_000);

    it('serves health, readiness and metrics', async () => {
      expect((await req('GET', '/healthz')).status).toBe(200);
      expect((await req('GET', '/readyz')).json).toMatchObject({ status: 'ready' });
      expect((await req('GET', '/metrics')).text).toContain('sluice_http_requests_total');
    });

    it('keeps a row created with a key of the full CHAR width readable', async () => {
      expect((await req('POST', '/api/customers', { body: { id: 'W1234567', name: 'WIDE' } })).status).toBe(
        201,
      );
      expect((await req('GET', `/api/customers/${custId(7)}`)).status).toBe(200);
      expect((await req('GET', '/api/customers/W1234567')).json).toMatchObject({ name: 'WIDE' });
      expect((await req('DELETE', '/api/customers/W1234567')).status).toBe(204);
    });
  });
}

// GET /api/<resource>/changes against a real nats-server and the real HTTP service: SSE in order,
// resume with Last-Event-ID without loss or duplicate, ?from=start, long-poll, filters, access
// rules (two principals, different claims), one shared consumer for 200 subscribers, 410.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/auth.js';
import { ResourceMapping } from '../../src/core/mapping.js';
import { resourceWildcard, type ResourceEvent } from '../../src/delivery/resource-event.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { customerRow } from '../fixtures/rest/legacy-db.js';
import type { Json } from '../fixtures/rest/request.js';
import { startFeedService, type FeedService } from '../support/feed-service.js';
import { waitFor } from '../support/ports.js';
import {
  apiResourceEvent,
  publishResourceEventsJs,
  resourceEventFromRows,
} from '../support/resource-events.js';
import { openSse, type SseStream } from '../support/sse-client.js';

const keys = {
  admin: 'k-admin-0123456789',
  active: 'k-active-0123456789',
  hold: 'k-hold-0123456789',
  none: 'k-none-012345678',
};
const as = (who: keyof typeof keys) => ({ 'x-api-key': keys[who] });

let svc: FeedService;
let customers: ResourceMapping;
const feedUrl = (resource: string, query = '') => `${svc.url}/api/${resource}/changes${query}`;
const prefix = 'feed';

/** API row of fixture customer i, with changes. */
const cust = (i: number, patch: Record<string, unknown> = {}) => ({
  ...customers.toApi(customerRow(i)),
  ...patch,
});
const created = (row: Record<string, unknown>) =>
  apiResourceEvent('customers', ['id'], 'created', { after: row });
const updated = (before: Record<string, unknown>, after: Record<string, unknown>) =>
  apiResourceEvent('customers', ['id'], 'updated', { before, after });
const deleted = (before: Record<string, unknown>) =>
  apiResourceEvent('customers', ['id'], 'deleted', { before });

async function publish(events: ResourceEvent[]): Promise<number[]> {
  return (await publishResourceEventsJs(svc.js, prefix, events)).map((a) => a.seq);
}

async function lastSeq(): Promise<number> {
  return (await svc.jsm.streams.info('FEED')).state.last_seq;
}

async function longPoll(query: string, who: keyof typeof keys = 'admin', resource = 'customers') {
  const res = await fetch(feedUrl(resource, query), { headers: { accept: 'application/json', ...as(who) } });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
}

beforeAll(async () => {
  svc = await startFeedService((api) => {
    api.auth = {
      apiKeys: [
        { name: 'admin', hash: hashApiKey(keys.admin), roles: ['admin'] },
        // Clerks see the customers whose status is their key's name, without the money fields.
        { name: 'active', hash: hashApiKey(keys.active), roles: ['clerk'] },
        { name: 'hold', hash: hashApiKey(keys.hold), roles: ['clerk'] },
        { name: 'none', hash: hashApiKey(keys.none), roles: ['nobody'] },
      ],
    };
    const c = api.resources.customers;
    c.access = { admin: ['read', 'create', 'update', 'delete'], clerk: ['read'] };
    c.hiddenFields = { clerk: ['balance', 'creditLimit'] };
    c.rowFilter = { role: 'clerk', field: 'status', claim: 'name' };
  });
  customers = new ResourceMapping('customers', svc.cfg.api!.resources.customers!);
});

afterAll(async () => {
  await svc?.close();
});

describe('change feed over HTTP', () => {
  it('streams live events in commit order as SSE, with heartbeats', async () => {
    const sse = await openSse(feedUrl('customers'), { headers: as('admin') });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = [
      created(cust(1)),
      updated(cust(1), cust(1, { name: 'RENAMED' })),
      created(cust(2)),
      deleted(cust(1, { name: 'RENAMED' })),
    ];
    const seqs = await publish(events);
    const got = await sse.waitForEvents(4);
    expect(got.map((e) => Number(e.id))).toEqual(seqs);
    expect(got.map((e) => e.event)).toEqual([
      'customers.created',
      'customers.updated',
      'customers.created',
      'customers.deleted',
    ]);
    expect(got.map((e) => JSON.parse(e.data))).toEqual(events);
    await waitFor(async () => sse.comments.includes(''), 'a heartbeat comment');
    sse.close();
  });

  it('a client dropped and resumed with Last-Event-ID loses nothing and gets nothing twice', async () => {
    const start = await lastSeq();
    const total = 300;
    // Publishing runs all along: each resume catches up from behind the shared tail while it moves.
    const publishing = (async () => {
      const seqs: number[] = [];
      for (let i = 0; i < total; i += 10)
        seqs.push(
          ...(await publish(
            Array.from({ length: 10 }, (_, k) => updated(cust(3), cust(3, { balance: `${i + k}.00` }))),
          )),
        );
      return seqs;
    })();
    const received: number[] = [];
    let token = String(start);
    for (let round = 0; received.length < total; round++) {
      const sse = await openSse(feedUrl('customers'), { headers: as('admin'), lastEventId: token });
      // Drop the connection after a few events (the last rounds read to the end).
      const want = round < 6 ? Math.min(total, received.length + 25) : total;
      await waitFor(
        async () => received.length + sse.events.length >= want || (round >= 6 && null),
        'events before the drop',
      );
      sse.close();
      for (const e of sse.events) received.push(Number(e.id));
      token = sse.lastEventId ?? token;
    }
    const published = await publishing;
    expect(received).toEqual(published);
  });

  it('many subscribers resuming from different positions while events flow each get exactly what follows', async () => {
    const base = await lastSeq();
    const seqs = await publish(Array.from({ length: 40 }, (_, i) => created(cust(50 + (i % 10)))));
    const more = (async () => {
      const out: number[] = [];
      for (let i = 0; i < 8; i++)
        out.push(...(await publish(Array.from({ length: 10 }, (_, k) => created(cust(60 + k))))));
      return out;
    })();
    // Tokens spread over the retained range, the latest too: catch-ups of every length meet the tail.
    const tokens = [base, ...seqs.filter((_, i) => i % 4 === 0)];
    const streams = await Promise.all(
      tokens.map((t) => openSse(feedUrl('customers'), { headers: as('admin'), lastEventId: String(t) })),
    );
    const all = [...seqs, ...(await more)];
    for (const [i, sse] of streams.entries()) {
      const want = all.filter((s) => s > tokens[i]!);
      const got = await sse.waitForEvents(want.length);
      sse.close();
      expect(got.map((e) => Number(e.id))).toEqual(want);
    }
  });

  it('?from=start replays what the stream retains, in order', async () => {
    const stored = (await readAll(svc.nc, 'FEED', resourceWildcard(prefix, 'customers'))).map((s) => s.seq);
    const sse = await openSse(feedUrl('customers', '?from=start'), { headers: as('admin') });
    const got = await sse.waitForEvents(stored.length);
    sse.close();
    expect(got.slice(0, stored.length).map((e) => Number(e.id))).toEqual(stored);
  });

  it('long-poll JSON returns what arrives within ?wait, with the next token', async () => {
    const before = await lastSeq();
    const pending = longPoll(`?after=${before}&wait=10s`);
    const [seq] = await publish([created(cust(4))]);
    const first = await pending;
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.data[0].token).toBe(String(seq));
    expect(first.body.data[0].event.data.after.id).toBe('C0004');
    expect(first.body.next).toBe(String(seq));
    // Nothing more: an empty page after the wait, the same token back.
    const idle = await longPoll(`?after=${first.body.next}&wait=200ms`);
    expect(idle.body).toEqual({ data: [], next: first.body.next });
    // limit: the rest on the next call, from `next`.
    const seqs = await publish([created(cust(5)), created(cust(6)), created(cust(7))]);
    const page = await longPoll(`?after=${first.body.next}&limit=2`);
    expect(page.body.data.map((d: Json) => Number(d.token))).toEqual(seqs.slice(0, 2));
    const rest = await longPoll(`?after=${page.body.next}&limit=2`);
    expect(rest.body.data.map((d: Json) => Number(d.token))).toEqual(seqs.slice(2));
  });

  it('applies the list filter grammar; a bad filter is a 400 problem', async () => {
    const after = await lastSeq();
    const seqs = await publish([
      created(cust(10, { status: 'hold', balance: '5.00' })),
      created(cust(11, { status: 'active', balance: '500.00' })),
      created(cust(12, { status: 'inactive', balance: '50.00' })),
    ]);
    const hold = await longPoll(`?after=${after}&status=eq.hold&wait=0`);
    expect(hold.body.data.map((d: Json) => Number(d.token))).toEqual([seqs[0]]);
    const or = await longPoll(`?after=${after}&or=(status.eq.hold,balance.gt.100)&wait=0`);
    expect(or.body.data.map((d: Json) => Number(d.token))).toEqual([seqs[0], seqs[1]]);
    expect((await longPoll(`?after=${after}&status=not.eq.hold&wait=0`)).body.next).toBe(String(seqs[2]));

    for (const [query, who] of [
      ['?nosuch=eq.1', 'admin'],
      ['?balance=zz.1', 'admin'],
      ['?balance=gt.abc', 'admin'],
      ['?balance=gt.1', 'active'], // hidden from clerks
      ['?after=abc', 'admin'],
      ['?after=1&from=start', 'admin'],
      ['?from=yesterday', 'admin'],
      ['?wait=10m', 'admin'],
      ['?limit=0', 'admin'],
    ] as const) {
      const r = await longPoll(query, who);
      expect([query, r.status, r.type]).toEqual([query, 400, 'application/problem+json']);
    }
    const bad = await fetch(feedUrl('customers'), { headers: { ...as('admin'), 'last-event-id': 'x1' } });
    expect(bad.status).toBe(400);
  });

  it('row filters and hidden fields hold: two principals with different claims see different events', async () => {
    const after = await lastSeq();
    const movedBefore = cust(20, { status: 'active' });
    const movedAfter = cust(20, { status: 'hold', name: 'MOVED' });
    const seqs = await publish([
      created(cust(21, { status: 'active' })),
      created(cust(22, { status: 'hold' })),
      updated(movedBefore, movedAfter), // leaves the active clerk's view, enters the hold clerk's
      deleted(cust(22, { status: 'hold' })),
      updated(cust(23, { status: 'inactive' }), cust(23, { status: 'inactive', name: 'X' })), // neither
    ]);
    const [admin, active, hold] = (await Promise.all(
      (['admin', 'active', 'hold'] as const).map((w) => longPoll(`?after=${after}&wait=0`, w)),
    )) as [
      Awaited<ReturnType<typeof longPoll>>,
      Awaited<ReturnType<typeof longPoll>>,
      Awaited<ReturnType<typeof longPoll>>,
    ];
    expect(admin.body.data.map((d: Json) => Number(d.token))).toEqual(seqs);
    const summary = (r: { body: Json }) =>
      r.body.data.map((d: Json) => [
        Number(d.token),
        d.event.type,
        d.event.sluiceview ?? null,
        d.event.subject,
      ]);
    expect(summary(active)).toEqual([
      [seqs[0], 'customers.created', null, 'C0021'],
      [seqs[2], 'customers.deleted', 'left', 'C0020'],
    ]);
    expect(summary(hold)).toEqual([
      [seqs[1], 'customers.created', null, 'C0022'],
      [seqs[2], 'customers.created', 'entered', 'C0020'],
      [seqs[3], 'customers.deleted', null, 'C0022'],
    ]);
    // The row as it left the active clerk's view is its last visible state; what it became is not shown.
    expect(active.body.data[1].event.data).toEqual({
      key: { id: 'C0020' },
      after: null,
      before: expect.objectContaining({ status: 'active', name: 'CUSTOMER 20' }),
    });
    expect(hold.body.data[1].event.data.before).toBeNull();
    for (const r of [active, hold]) {
      expect(r.body.next).toBe(String(seqs[4]));
      for (const d of r.body.data)
        for (const row of [d.event.data.key, d.event.data.after, d.event.data.before])
          if (row) expect(Object.keys(row).filter((k) => k === 'balance' || k === 'creditLimit')).toEqual([]);
    }
    // SSE applies the same view.
    const sse = await openSse(feedUrl('customers', `?after=${after}`), { headers: as('active') });
    const got = await sse.waitForEvents(2);
    sse.close();
    expect(got.map((e) => [Number(e.id), e.event])).toEqual([
      [seqs[0], 'customers.created'],
      [seqs[2], 'customers.deleted'],
    ]);
    expect(JSON.parse(got[0]!.data).data.after.balance).toBeUndefined();
  });

  it('needs read permission: 401 without credentials, 403 without the role', async () => {
    const anon = await fetch(feedUrl('customers'));
    expect([anon.status, anon.headers.get('content-type')]).toEqual([401, 'application/problem+json']);
    const none = await fetch(feedUrl('customers'), { headers: as('none') });
    expect(none.status).toBe(403);
  });

  it('a change made with SQL reaches the feed in API shape', async () => {
    const knex = svc.db.knex;
    const sse = await openSse(feedUrl('customers'), { headers: as('admin') });
    const beforeRow = await knex('custmast').where({ cust_no: 'C0031   ' }).first();
    await knex('custmast').where({ cust_no: 'C0031   ' }).update({ actv_flg: 'N', bal_amt: '12.34' });
    const afterRow = await knex('custmast').where({ cust_no: 'C0031   ' }).first();
    // What the router publishes for this change (until this branch has it, the test does).
    await publishResourceEventsJs(svc.js, prefix, [
      resourceEventFromRows(customers, 'updated', { before: beforeRow, after: afterRow }),
    ]);
    const [e] = await sse.waitForEvents(1);
    sse.close();
    const data = JSON.parse(e!.data).data;
    expect(data.key).toEqual({ id: 'C0031' });
    expect([data.before.active, data.after.active, data.after.balance]).toEqual([true, false, '12.34']);
  });

  it('200 concurrent subscribers share one JetStream consumer and all get every event', async () => {
    const ordersSubject = resourceWildcard(prefix, 'orders');
    const ordersConsumers = async () =>
      (await svc.jsm.consumers.list('FEED').next()).filter((c) => c.config.filter_subject === ordersSubject)
        .length;
    const clients: SseStream[] = await Promise.all(
      Array.from({ length: 200 }, () => openSse(feedUrl('orders'), { headers: as('admin') })),
    );
    expect(clients.every((c) => c.status === 200)).toBe(true);
    expect(await ordersConsumers()).toBe(1);
    const events = Array.from({ length: 20 }, (_, i) =>
      apiResourceEvent('orders', ['customerId', 'orderNo'], 'created', {
        after: { customerId: 'C0001', orderNo: 100 + i, total: 1.5, shipped: false },
      }),
    );
    const seqs = await publish(events);
    for (const c of clients) expect((await c.waitForEvents(20)).map((e) => Number(e.id))).toEqual(seqs);
    expect(await ordersConsumers()).toBe(1);
    for (const c of clients) c.close();
    // The shared consumer goes once its last subscriber left (after api.changes.idleTimeout).
    await waitFor(async () => (await ordersConsumers()) === 0, 'the shared consumer to go');
  });

  it('a resume token the stream no longer holds is a 410, never a silent gap', async () => {
    const last = await lastSeq();
    const ahead = await longPoll(`?after=${last + 1000}&wait=0`);
    expect([ahead.status, ahead.type]).toEqual([410, 'application/problem+json']);
    await publish([created(cust(40)), created(cust(41))]);
    await svc.jsm.streams.purge('FEED', { keep: 1 });
    const gone = await longPoll(`?after=${last}&wait=0`);
    expect(gone.status).toBe(410);
    expect(gone.body.detail).toMatch(/older than what the stream retains/);
    // Right before the oldest retained event is still a valid place to resume.
    const first = (await svc.jsm.streams.info('FEED')).state.first_seq;
    const ok = await longPoll(`?after=${first - 1}&wait=0`);
    expect([ok.status, ok.body.data.map((d: Json) => Number(d.token))]).toEqual([200, [first]]);
  });
});

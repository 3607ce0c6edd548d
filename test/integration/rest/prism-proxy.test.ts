// Every kind of request sent through Stoplight Prism as a validating proxy in front of the REST
// service (issue 18): Prism checks each request and response against the served document and,
// with --errors, turns any violation into an error response. None may appear.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../support/ports.js';
import { startHarness, type Harness } from '../../unit/http/harness.js';

const prismBin = fileURLToPath(new URL('../../../node_modules/.bin/prism', import.meta.url));

interface Sent {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** fetch, with the request named when the connection fails. */
async function fetchOnce(url: string, what: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

describe('REST API behind Stoplight Prism (validating proxy, --errors)', () => {
  let h: Harness;
  let server: ReturnType<typeof serve>;
  let prism: ChildProcess;
  let dir: string;
  let proxy: string;
  let prismOutput = '';

  beforeAll(async () => {
    h = await startHarness((api) => {
      api.rateLimit = { limit: 10_000, window: '1m' };
    });
    const port = await freePort();
    await new Promise<void>((resolve) => {
      server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port }, () => resolve());
    });
    const doc = (await h.request('GET', '/api/openapi.json')).json as Record<string, unknown>;
    dir = await mkdtemp(join(tmpdir(), 'sluice-prism-'));
    await writeFile(join(dir, 'openapi.json'), JSON.stringify(doc));
    const prismPort = await freePort();
    proxy = `http://127.0.0.1:${prismPort}`;
    prism = spawn(
      prismBin,
      ['proxy', join(dir, 'openapi.json'), `http://127.0.0.1:${port}`, '-p', String(prismPort), '--errors'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SCARF_ANALYTICS: 'false' } },
    );
    prism.stdout!.on('data', (d: Buffer) => (prismOutput += d.toString()));
    prism.stderr!.on('data', (d: Buffer) => (prismOutput += d.toString()));
    await waitFor(async () => prismOutput.includes('Prism is listening'), 'Prism to listen', 60_000, 200);
  }, 90_000);

  afterAll(async () => {
    prism?.kill('SIGTERM');
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const send = async (
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Sent> => {
    const res = await fetchOnce(`${proxy}${path}`, `${method} ${path}`, {
      method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const sent = { status: res.status, headers: res.headers, text: await res.text() };
    const where = `${method} ${path} → ${sent.status}`;
    expect(sent.headers.get('sl-violations'), where).toBeNull();
    expect(sent.text, where).not.toContain('stoplight.io/prism/errors');
    return sent;
  };

  it('passes every kind of request and response without a violation', async () => {
    expect((await send('GET', '/api/customers?limit=3')).status).toBe(200);
    expect((await send('GET', '/api/customers?select=id,name&limit=2')).status).toBe(200);
    expect((await send('GET', '/api/customers?id=in.(C0003,C0004)&embed=orders&select=id')).status).toBe(200);
    expect((await send('GET', '/api/orders?customerId=eq.C0003&embed=customer')).status).toBe(200);
    expect((await send('GET', '/api/orders/C0002,1?embed=customer')).status).toBe(200);
    expect(
      (
        await send(
          'GET',
          '/api/customers?balance=gte.10&balance=lte.100&and=(active.is.true)&not.or=(id.eq.C0001)',
        )
      ).status,
    ).toBe(200);
    expect(
      (await send('GET', '/api/receipts?reorder=is.null', { headers: { prefer: 'count=exact' } })).status,
    ).toBe(200);
    const one = await send('GET', '/api/customers/C0001');
    expect(one.status).toBe(200);
    const etag = one.headers.get('etag')!;
    expect((await send('GET', '/api/customers/C0001', { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );
    expect((await send('HEAD', '/api/customers/C0001')).status).toBe(200);
    expect((await send('HEAD', '/api/customers?limit=1')).status).toBe(200);
    expect((await send('GET', '/api/customers/NOPE')).status).toBe(404);
    expect((await send('GET', '/api/customers?order=nope')).status).toBe(400);

    const body = { id: 'PX01', name: 'PRISM CO', status: 'hold', createdOn: '2025-01-31' };
    const created = await send('POST', '/api/customers', { body });
    expect(created.status).toBe(201);
    expect((await send('POST', '/api/customers', { body })).status).toBe(409);
    const minimal = await send('POST', '/api/events', {
      body: { message: 'minimal' },
      headers: { prefer: 'return=minimal' },
    });
    expect(minimal.status).toBe(204);
    expect(minimal.headers.get('location')).toMatch(/^\/api\/events\/\d+$/);
    // A request the document refuses is refused by Prism itself, before the server sees it.
    const invalid = await fetch(`${proxy}/api/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'PX02', name: 'X', extra: 1 }),
    });
    expect(invalid.status).toBe(422);
    expect(await invalid.text()).toContain('additional properties');
    const patched = await send('PATCH', '/api/customers/PX01', {
      body: { active: true },
      headers: { 'if-match': created.headers.get('etag')! },
    });
    expect(patched.status).toBe(200);
    expect(
      (
        await send('PATCH', '/api/customers/PX01', {
          body: { active: false },
          headers: { 'if-match': '"stale"' },
        })
      ).status,
    ).toBe(412);
    expect(
      (
        await send('PUT', '/api/customers/PX01', {
          body: { name: 'REPLACED' },
          headers: { prefer: 'return=minimal' },
        })
      ).status,
    ).toBe(204);
    expect((await send('PUT', '/api/customers/PX01', { body: { name: 'AGAIN' } })).status).toBe(200);
    expect((await send('DELETE', '/api/customers/PX01')).status).toBe(204);
    expect((await send('GET', '/healthz')).status).toBe(200);
    expect((await send('GET', '/readyz')).status).toBe(200);
  }, 60_000);
});

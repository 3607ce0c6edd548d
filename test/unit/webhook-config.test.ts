// The webhooks section of the config, the retry arithmetic and the per-key scheduler.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { KeyedScheduler } from '../../src/delivery/webhooks/keyed-scheduler.js';
import { backoffDelay, parseRetryAfter } from '../../src/delivery/webhooks/webhook-retry.js';
import { WebhookSigner } from '../../src/delivery/webhooks/webhook-signer.js';
import { Webhook } from 'standardwebhooks';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const api = {
  database: 'sqlite::memory:',
  resources: {
    employees: {
      table: 'emp',
      key: ['id'],
      fields: { id: { column: 'emp_no', codec: 'int' }, department: { column: 'dept', codec: 'trim' } },
    },
  },
};

function problems(webhooks: unknown[]): string[] {
  try {
    parseConfig({ api, webhooks });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [...err.issues];
  }
}

describe('webhooks config', () => {
  test('defaults', () => {
    const cfg = parseConfig({ api, webhooks: [{ name: 'a', url: 'https://hooks.example.com/x', secret }] });
    expect(cfg.webhooks[0]).toMatchObject({
      types: ['created', 'updated', 'deleted'],
      timeout: 10_000,
      concurrency: 16,
      retry: { maxAge: 86_400_000 },
      headers: {},
      from: 'start',
    });
    expect(cfg.deliveryLog).toEqual({ maxAge: 7 * 86_400_000, maxBytes: 256 * 1024 ** 2 });
  });

  test('every problem listed by path', () => {
    expect(
      problems([
        { name: 'a', url: 'http://hooks.example.com/x', secret },
        { name: 'a', url: 'https://x.example.com', secret: 'plain', resources: ['nope'] },
        { name: 'b c', url: 'https://x.example.com', secret, filter: 'salary=gt.5' },
        { name: 'd', url: 'https://x.example.com', secret, filter: 'id=eq.notanumber', timeout: 'soon' },
        { name: 'e', url: 'ftp://x.example.com', secret, types: ['created', 'renamed'] },
      ]),
    ).toEqual([
      'webhooks[0].url: expected https:// (http:// only to a loopback host, or with allowInsecure: true)',
      'webhooks[1].secret: expected whsec_<base64> (Standard Webhooks secret)',
      'webhooks[2].name: expected one token: letters, digits, _ or -',
      'webhooks[3].timeout: expected a duration like 500ms, 1s, 2m or 1h, got "soon"',
      'webhooks[4].url: expected an http(s):// URL',
      expect.stringMatching(/^webhooks\[4\]\.types\[1\]: /),
    ]);
  });

  test('cross-references: names unique, resources exist, filters compile on each resource', () => {
    expect(
      problems([
        { name: 'a', url: 'https://x.example.com', secret, resources: ['nope'] },
        { name: 'a', url: 'https://x.example.com', secret, filter: 'salary=gt.5' },
        { name: 'c', url: 'https://x.example.com', secret, filter: 'id=eq.notanumber' },
      ]),
    ).toEqual([
      'webhooks[0].resources[0]: no resource named "nope"',
      'webhooks[1].name: duplicate webhook name "a" (also webhooks[0])',
      expect.stringMatching(/^webhooks\[1\]\.filter: on resource "employees": unknown field "salary"/),
      expect.stringMatching(/^webhooks\[2\]\.filter: on resource "employees": id: /),
    ]);
  });

  test('loopback and allowInsecure permit http://', () => {
    expect(problems([{ name: 'a', url: 'http://127.0.0.1:9/x', secret }])).toEqual([]);
    expect(problems([{ name: 'a', url: 'http://localhost:9/x', secret }])).toEqual([]);
    expect(problems([{ name: 'a', url: 'http://hooks.internal/x', secret, allowInsecure: true }])).toEqual(
      [],
    );
  });

  test('tls: cert and key together, https only, no option to skip verification', () => {
    const url = 'https://hooks.example.com/x';
    expect(problems([{ name: 'a', url, secret, tls: { ca: '/etc/ca.pem' } }])).toEqual([]);
    expect(
      problems([{ name: 'a', url, secret, tls: { cert: '/c.pem', key: '/k.pem', servername: 'h' } }]),
    ).toEqual([]);
    expect(problems([{ name: 'a', url, secret, tls: { cert: '/c.pem' } }])).toEqual([
      'webhooks[0].tls: set cert and key together (mutual TLS), or neither',
    ]);
    expect(problems([{ name: 'a', url: 'http://127.0.0.1:9/x', secret, tls: {} }])).toEqual([
      'webhooks[0].tls: tls needs an https:// url',
    ]);
    expect(problems([{ name: 'a', url, secret, tls: { rejectUnauthorized: false } }])).toHaveLength(1);
  });
});

describe('retry timing', () => {
  test('full jitter: between 0 and the doubled ceiling, capped', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0.999)).toBe(99);
    expect(backoffDelay(4, 100, 10_000, () => 0.999)).toBe(799);
    expect(backoffDelay(30, 100, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(0);
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

test('signatures verify with the standardwebhooks reference library', () => {
  const body = JSON.stringify({ id: 'e1', hello: 'wörld' });
  const h = new WebhookSigner(secret).headers('e1', body, new Date());
  expect(h['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  expect(new Webhook(secret).verify(body, h)).toEqual({ id: 'e1', hello: 'wörld' });
  expect(JSON.stringify({ s: new WebhookSigner(secret) })).not.toContain('MfKQ');
});

describe('KeyedScheduler', () => {
  test('one key at a time in order, keys in parallel up to the limit', async () => {
    const running = new Set<string>();
    let peak = 0;
    const seen = new Map<string, number[]>();
    const s = new KeyedScheduler<number>(
      3,
      async (key, item) => {
        expect(running.has(key)).toBe(false);
        running.add(key);
        peak = Math.max(peak, running.size);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        seen.set(key, [...(seen.get(key) ?? []), item]);
        running.delete(key);
      },
      (err) => {
        throw err;
      },
    );
    for (let i = 0; i < 20; i++) for (const k of ['a', 'b', 'c', 'd', 'e']) s.push(k, i);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if ([...seen.values()].reduce((a, v) => a + v.length, 0) === 100) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    expect(peak).toBe(3);
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(seen.get(k)).toEqual([...Array(20).keys()]);
    await s.stop();
  });
});

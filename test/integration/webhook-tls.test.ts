// One webhook attempt over HTTPS to a real receiver on loopback whose certificate comes from a
// throwaway CA and which requires a client certificate: the `tls` keys each matter (ca, cert +
// key, servername), and every failure is a failed attempt in words, never a throw.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { WebhookConfig } from '../../src/config/webhooks.js';
import { postOnce, type AttemptResult } from '../../src/delivery/webhooks/webhook-attempt.js';
import { webhookTransport } from '../../src/delivery/webhooks/webhook-transport.js';
import { TestCa, type IssuedCert } from '../support/test-certs.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

describe('webhook attempt over HTTPS with a private CA and mutual TLS', () => {
  let ca: TestCa;
  let client: IssuedCert;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    ca = await TestCa.create('Hooks CA');
    // The certificate names a host only, not 127.0.0.1: reached by IP it needs `servername`.
    const server = await ca.issue('hooks', { hosts: ['hooks.example'] });
    client = await ca.issue('sluice', { client: true });
    receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`, undefined, {
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.caPem,
    });
  });

  afterAll(async () => {
    await receiver?.close();
    await ca?.remove();
  });

  async function attempt(tls: WebhookConfig['tls']): Promise<AttemptResult> {
    let transport: Awaited<ReturnType<typeof webhookTransport>> | undefined;
    try {
      return await postOnce({
        url: receiver.url,
        headers: { 'content-type': 'application/json' },
        body: '{}',
        timeoutMs: 10_000,
        signal: new AbortController().signal,
        transport: async () => (transport = await webhookTransport(tls)),
      });
    } finally {
      await transport?.close();
    }
  }

  test.each([
    ['files', () => ({ ca: ca.caFile, cert: client.cert, key: client.key })],
    ['PEM text', () => ({ ca: ca.caPem, cert: client.certPem, key: client.keyPem })],
  ])('ca + cert + key + servername as %s: delivered', async (_, pems) => {
    const before = receiver.attempts.length;
    const r = await attempt({ ...pems(), servername: 'hooks.example' });
    expect(r).toMatchObject({ kind: 'ok', status: 204, error: null });
    expect(receiver.attempts).toHaveLength(before + 1);
  });

  test('without ca: the certificate does not chain (system CAs only)', async () => {
    const r = await attempt({ cert: client.cert, key: client.key, servername: 'hooks.example' });
    expect(r).toMatchObject({ kind: 'failed', status: null, statusClass: 'network' });
    expect(r.error).toMatch(/TLS certificate rejected: the certificate does not chain to the configured CA/);
  });

  test('without servername: the certificate does not name 127.0.0.1', async () => {
    const r = await attempt({ ca: ca.caFile, cert: client.cert, key: client.key });
    expect(r.kind).toBe('failed');
    expect(r.error).toMatch(/does not name this host.*ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('without a client certificate: refused by the endpoint, a failed attempt', async () => {
    const before = receiver.attempts.length;
    const r = await attempt({ ca: ca.caFile, servername: 'hooks.example' });
    expect(r.kind).toBe('failed');
    expect(r.status).toBeNull();
    expect(r.error).toMatch(/closed the connection.*client certificate, set tls.cert and tls.key/);
    expect(receiver.attempts.length).toBe(before);
  });

  test('an unreadable key file: a failed attempt naming the file, not its content', async () => {
    const r = await attempt({ ca: ca.caFile, cert: client.cert, key: '/nonexistent/client.key' });
    expect(r.kind).toBe('failed');
    expect(r.error).toBe('tls.key: cannot read /nonexistent/client.key (ENOENT)');
  });
});

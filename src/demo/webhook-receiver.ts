// The demo's webhook receiver: a plain node:http server on loopback that verifies each delivery's
// Standard Webhooks signature with the reference library, exactly as a receiving system would,
// and hands the verified CloudEvent to the demo to print.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  readonly webhookId: string;
  readonly verified: boolean;
  readonly event: { type?: string; subject?: string; data?: unknown } | null;
}

export interface DemoReceiver {
  readonly url: string;
  readonly secret: string;
  close(): Promise<void>;
}

export async function startDemoReceiver(onDelivery: (d: Delivery) => void): Promise<DemoReceiver> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const verifier = new Webhook(secret);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      let verified = true;
      try {
        verifier.verify(body, headers);
      } catch {
        verified = false;
      }
      let event: Delivery['event'];
      try {
        event = JSON.parse(body) as Delivery['event'];
      } catch {
        event = null;
      }
      onDelivery({ webhookId: headers['webhook-id'], verified, event });
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/sluice`,
    secret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The whole delivery path on real servers: a change made with SQL in the legacy PostgreSQL table is
// captured, routed into a resource event, POSTed signed to a webhook receiver (verified with the
// Standard Webhooks reference library) and pushed to a browser EventSource in headless Chromium
// following the change feed; both in the resource's API shape, with hidden fields left out.
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startApi } from '../../src/http/server.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { chromiumMissing, launchChromium } from '../support/chromium.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { LEGACY_DDL, LEGACY_TABLES, legacyApi } from '../support/resource-workload.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {}, child: () => quiet } as never;

describe.skipIf(chromiumMissing !== undefined)(
  `SQL change → webhook and browser change feed${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`,
  () => {
    let h: Harness;
    let rt: Runtime | null = null;
    let api: { close(): Promise<void>; url: string } | null = null;
    let receiver: WebhookReceiver;
    let browser: Browser;

    beforeAll(async () => {
      [h, browser] = await Promise.all([Harness.start(), launchChromium()]);
      await h.pg.query(LEGACY_DDL);
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      receiver = await WebhookReceiver.start(secret);
      const raw = h.rawConfig({ name: 'erp', tables: LEGACY_TABLES }, { leaseTtl: '1s' });
      const cfg = parseConfig({
        ...raw,
        api: { ...legacyApi('erp'), listen: '127.0.0.1:0', basePath: '/api' },
        webhooks: [{ name: 'crm', url: receiver.url, secret, resources: ['customers'] }],
      });
      rt = await h.runInProcess(cfg);
      await h.waitStreaming(rt);
      api = await startApi(cfg, quiet);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await api?.close();
      await rt?.stop();
      await receiver?.close();
      await h?.stop();
    });

    it('one UPDATE reaches the webhook (signed, hidden field left out) and the EventSource, in API shape', async () => {
      const page = await browser.newPage();
      await page.goto(`${api!.url}/healthz`);
      // customerNames has no access rules and the API no auth: an EventSource sends no credentials.
      await page.evaluate(`new Promise((resolve, reject) => {
        window.got = [];
        const es = new EventSource('/api/customerNames/changes');
        es.addEventListener('customerNames.updated', (e) => window.got.push({ id: e.lastEventId, data: e.data }));
        es.onopen = () => resolve();
        es.onerror = () => reject(new Error('EventSource failed'));
      })`);

      await h.pg.query(`UPDATE custmast SET cust_nm = 'RENAMED IN SQL' WHERE cust_no = 'C0001'`);
      // A batch job touching only an unmapped column wakes nobody.
      await h.pg.query(`UPDATE custmast SET batch_run = batch_run + 1`);
      await h.pg.query(`UPDATE custmast SET actv_flg = 'N' WHERE cust_no = 'C0002'`);

      await page.waitForFunction('window.got.length >= 1', null, { timeout: 30_000 });
      const got = await page.evaluate<{ id: string; data: string }[]>('window.got');
      const browserEvent = JSON.parse(got[0]!.data) as {
        type: string;
        subject: string;
        data: { after: unknown };
      };
      expect(browserEvent.type).toBe('customerNames.updated');
      expect(browserEvent.subject).toBe('C0001');
      expect(browserEvent.data.after).toEqual({ no: 'C0001', name: 'RENAMED IN SQL' });

      const delivered = await waitFor(
        async () => (receiver.accepted.length >= 2 ? receiver.accepted : null),
        'two webhook deliveries',
        30_000,
        100,
      );
      expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);
      expect(delivered.map((d) => d.event.type)).toEqual(['customers.updated', 'customers.updated']);
      const [renamed, deactivated] = delivered.map(
        (d) => d.event as { data: { key: unknown; after: Record<string, unknown> } },
      );
      expect(renamed!.data.key).toEqual({ id: 'C0001' });
      expect(renamed!.data.after).toMatchObject({ id: 'C0001', name: 'RENAMED IN SQL', active: true });
      expect(renamed!.data.after).not.toHaveProperty('ssn'); // hidden from every role that may read
      expect(deactivated!.data.after).toMatchObject({ id: 'C0002', active: false });
      // The batch_run update changed no mapped field: no event for any of the 20 rows.
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.accepted).toHaveLength(2);
      expect(await page.evaluate<number>('window.got.length')).toBe(1);
    });
  },
);

// A browser EventSource in headless Chromium follows GET /api/customers/changes and receives a change
// made with SQL, in API shape.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceMapping } from '../../src/core/mapping.js';
import { chromiumMissing, launchChromium } from '../support/chromium.js';
import { startFeedService, type FeedService } from '../support/feed-service.js';
import { publishResourceEventsJs, resourceEventFromRows } from '../support/resource-events.js';

describe.skipIf(chromiumMissing !== undefined)(
  `change feed in headless Chromium${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`,
  () => {
    let svc: FeedService;
    let browser: Browser;

    beforeAll(async () => {
      // No api.auth: an EventSource cannot send X-API-Key or Authorization headers.
      [svc, browser] = await Promise.all([startFeedService(), launchChromium()]);
    });

    afterAll(async () => {
      await browser?.close();
      await svc?.close();
    });

    it('an EventSource receives a change made with SQL', async () => {
      const page = await browser.newPage();
      await page.goto(`${svc.url}/healthz`);
      // Opened (headers received) means subscribed: the change below is after its position.
      // (Browser code as text: the project's TypeScript has no DOM types.)
      await page.evaluate(`new Promise((resolve, reject) => {
        window.got = [];
        const es = new EventSource('/api/customers/changes');
        es.addEventListener('customers.updated', (e) => window.got.push({ id: e.lastEventId, data: e.data }));
        es.onopen = () => resolve();
        es.onerror = () => reject(new Error('EventSource failed'));
      })`);
      const knex = svc.db.knex;
      const where = { cust_no: 'C0007   ' };
      const before = await knex('custmast').where(where).first();
      await knex('custmast').where(where).update({ cust_nm: 'RENAMED IN SQL', stat_cd: 'H' });
      const after = await knex('custmast').where(where).first();
      const mapping = new ResourceMapping('customers', svc.cfg.api!.resources.customers!);
      // What the router publishes for this change (until this branch has it, the test does).
      const [ack] = await publishResourceEventsJs(svc.js, 'feed', [
        resourceEventFromRows(mapping, 'updated', { before, after }),
      ]);
      await page.waitForFunction('window.got.length > 0', null, { timeout: 20_000 });
      const got = await page.evaluate<{ id: string; data: string }[]>('window.got');
      expect(got.map((g) => g.id)).toEqual([String(ack!.seq)]);
      const event = JSON.parse(got[0]!.data);
      expect(event.type).toBe('customers.updated');
      expect(event.data.after).toMatchObject({ id: 'C0007', name: 'RENAMED IN SQL', status: 'hold' });
      expect(event.data.before).toMatchObject({ name: 'CUSTOMER 7', status: 'inactive' });
    });
  },
);

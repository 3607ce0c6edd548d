// The status page (issue 15, item 6): GET /status on `sluice run`'s metrics server (and on the REST
// app) is one offline HTML page that polls /status.json: a streaming postgres source with its
// state, lease holder (fleet instance, host, pid), committed position, lag, an events/s chart while
// a writer runs, the newest events and a dead-letter count. Checked in headless Chromium with
// every off-host request refused; the screenshot goes to test-results/status-page.png.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createApp } from '../../src/http/app.js';
import { StatusBoard, type StatusSnapshot } from '../../src/http/status-board.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { startMetricsServer } from '../../src/util/metrics-server.js';
import { chromiumMissing, launchChromium } from '../support/chromium.js';
import { ROOT } from '../support/cli.js';
import { Harness } from '../support/harness.js';
import { Writer } from '../support/writer.js';

describe.skipIf(chromiumMissing !== undefined)(
  `the status page${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`,
  () => {
    let h: Harness;
    let rt: Runtime;
    let writer: Writer;
    let board: StatusBoard;
    let server: { url: string; close(): Promise<void> };

    beforeAll(async () => {
      h = await Harness.start();
      await h.pg.query(Writer.ddl('items'));
      const cfg = h.config({ name: 'erp', tables: ['public.items'] });
      rt = await h.runInProcess(cfg);
      await h.waitStreaming(rt);
      writer = new Writer(h.pg.url(), 'items');
      writer.start(40);
      // A dead letter of the source, as the dispatcher writes one for a poison event.
      const nc = await h.natsConnection();
      const { jetstream } = await import('@nats-io/jetstream');
      await jetstream(nc).publish('sluice.dlq.erp', JSON.stringify({ reason: 'test' }));
      board = new StatusBoard(cfg, { sampleMs: 300 });
      server = await startMetricsServer('127.0.0.1:0', board);
    }, 120_000);

    afterAll(async () => {
      await writer?.stop();
      await server?.close();
      await rt?.stop();
      await h?.stop();
    });

    it('/status.json: state, holder, position, lag, events/s, last events, dead letters', async () => {
      // Events per second show once two samples of the stream bracket some of the writer's events.
      await expect
        .poll(
          async () => {
            const s = (await (await fetch(`${server.url}/status.json`)).json()) as StatusSnapshot;
            return s.rates.erp!.some((p) => p.perSec > 0);
          },
          { timeout: 60_000, interval: 300 },
        )
        .toBe(true);
      const s = (await (await fetch(`${server.url}/status.json`)).json()) as StatusSnapshot;
      const row = s.rows.find((r) => r.source === 'erp')!;
      expect(row.state).toBe('streaming');
      expect(row.instance).toBe(rt.fleet!.instance);
      expect(row.pid).toBe(process.pid);
      expect(typeof row.offset).toBe('string');
      expect(typeof row.lagBytes).toBe('number');
      expect(s.latest.erp!.lagSeconds).toBeGreaterThanOrEqual(0);
      expect(s.lastEvents.some((e) => e.subject.startsWith('sluice.erp.public.items.'))).toBe(true);
      expect(s.dlq.erp).toBe(1);
      expect(s.rows.some((r) => r.member === rt.fleet!.instance)).toBe(true);
    });

    it('renders in headless Chromium, offline, and refreshes live', { timeout: 120_000 }, async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const offsite: string[] = [];
        await page.route('**/*', async (route) => {
          const u = new URL(route.request().url());
          if (u.hostname === '127.0.0.1' || u.protocol === 'data:') return route.continue();
          offsite.push(u.href);
          return route.abort();
        });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${server.url}/status`);
        await page.locator('#sources [data-state="streaming"]').waitFor({ timeout: 60_000 });
        await page.locator('#sources svg.spark polyline').waitFor({ timeout: 60_000 });
        const sources = await page.locator('#sources').innerText();
        expect(sources).toContain('erp');
        expect(sources).toContain(rt.fleet!.instance);
        expect(sources).toContain(`pid ${process.pid}`);
        expect(sources).toMatch(/\/s now/);
        expect(await page.locator('#events').innerText()).toContain('sluice.erp.public.items.');
        expect(await page.locator('#dlq').innerText()).toContain('dlq.erp');
        expect(await page.locator('#members').innerText()).toContain(rt.fleet!.instance);
        // Live: the page polls, so its data moves on without a reload.
        const updated = () => page.locator('body').getAttribute('data-updated');
        const first = await updated();
        await expect.poll(updated, { timeout: 30_000 }).not.toBe(first);
        const out = join(ROOT, 'test-results');
        await mkdir(out, { recursive: true });
        await page.screenshot({ path: join(out, 'status-page.png'), fullPage: true });
        expect(errors).toEqual([]);
        expect(offsite).toEqual([]);
      } finally {
        await browser.close();
      }
    });

    it('the REST app serves the same page and JSON', async () => {
      const api = parseConfig({ api: { listen: '127.0.0.1:0', resources: {} } }).api!;
      const app = createApp({
        api,
        resources: new Map(),
        databases: [],
        authenticate: () => Promise.reject(new Error('no auth in this test')),
        status: board,
      });
      const page = await app.request('/status');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain('status.json');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
      const json = await app.request('/status.json');
      expect(json.status).toBe(200);
      expect(((await json.json()) as StatusSnapshot).rows.some((r) => r.source === 'erp')).toBe(true);
    });
  },
);

// /api/docs in a real headless Chromium: the reference page renders the resources with no network
// beyond the API itself (the script comes from node_modules, not a CDN).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { openDatabase } from '../../../src/sql/database.js';
import { parseConfigText } from '../../../src/config/load.js';
import { startApi } from '../../../src/http/server.js';
import { createLogger } from '../../../src/util/logger.js';
import { createLegacySchema } from '../../fixtures/rest/legacy-db.js';
import { chromiumMissing, launchChromium } from '../../support/chromium.js';

describe.skipIf(chromiumMissing !== undefined)(
  `docs page in headless Chromium${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`,
  () => {
    let dir: string;
    let api: { close(): Promise<void>; url: string };
    let browser: Browser;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-docs-'));
      const url = `sqlite:${join(dir, 'legacy.db')}`;
      const seed = await openDatabase(url);
      await createLegacySchema(seed.knex, 'sqlite');
      await seed.close();
      const yaml = await readFile(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8');
      api = await startApi(parseConfigText(yaml, { DB_URL: url }), createLogger('silent'));
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await api?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('renders every resource and its operations', async () => {
      const page = await browser.newPage();
      const offsite: string[] = [];
      await page.route('**/*', async (route) => {
        const u = new URL(route.request().url());
        if (u.hostname === '127.0.0.1' || u.protocol === 'data:' || u.protocol === 'blob:')
          return route.continue();
        offsite.push(u.href);
        return route.abort();
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${api.url}/api/docs`);
      await page.getByText('List customers').first().waitFor({ timeout: 60_000 });
      // The sidebar comes first; the sections render right after: poll the page text.
      const wanted = [
        'Sluice REST API',
        'OAS 3.1.0',
        '/api/customers/{id}',
        '/api/orders/{customerId},{orderNo}',
        '/api/events',
      ];
      await expect
        .poll(
          async () => {
            const body = await page.locator('body').innerText();
            return wanted.filter((w) => !body.includes(w));
          },
          { timeout: 60_000 },
        )
        .toEqual([]);
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(dir, 'docs.png') });
      // Fonts or telemetry a page might want from the internet are refused: the page renders anyway.
      expect(offsite.filter((u) => !/fonts|telemetry|scalar\.com/.test(u))).toEqual([]);
    });
  },
);

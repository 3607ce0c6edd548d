import { serve } from '@hono/node-server';
import { startHarness } from './test/unit/http/harness.ts';
import { writeFileSync } from 'node:fs';
const h = await startHarness();
const s = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 18431 }, () => console.log('up'));
const d = (await h.request('GET', '/api/openapi.json')).json;
d.servers = [{ url: 'http://127.0.0.1:18431' }];
writeFileSync('/tmp/oa/doc-live.json', JSON.stringify(d));
setTimeout(() => { s.close(); h.close(); }, 120000);

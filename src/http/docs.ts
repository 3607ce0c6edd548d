// <basePath>/docs: the Scalar API reference, its script served from node_modules so the page
// renders with no network at all (no CDN).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { AppEnv } from './env.js';

const require = createRequire(import.meta.url);

function page(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice API reference</title>
</head>
<body>
<div id="app"></div>
<script src="${base}/docs/standalone.js"></script>
<script>
  Scalar.createApiReference('#app', { url: '${base}/openapi.json', withDefaultFonts: false, hideClientButton: true, telemetry: false });
</script>
</body>
</html>`;
}

export function docsRoutes(app: Hono<AppEnv>, base: string): void {
  const script = require.resolve('@scalar/api-reference/browser/standalone.js');
  app.get(`${base}/docs`, (c) => c.html(page(base), 200, { 'cache-control': 'no-cache' }));
  app.get(`${base}/docs/standalone.js`, async (c) => {
    const { size } = await stat(script);
    const body = Readable.toWeb(createReadStream(script)) as ReadableStream;
    return c.body(body, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'content-length': String(size),
      'cache-control': 'public, max-age=86400',
    });
  });
}

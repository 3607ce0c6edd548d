// The REST API's database goes away and comes back (issue 18, item 9): requests get a declared
// 503, the log gets one structured line when it goes down and one when it is back, and knex's
// "Acquire connection error" stack traces are not printed.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../../src/config/load.js';
import { createApiRuntime, createAppFromRuntime, type ApiRuntime } from '../../../src/http/server.js';
import { openDatabase } from '../../../src/sql/database.js';
import { checkedRequester, type CheckedRequester } from '../../fixtures/rest/checked-request.js';
import { createLegacySchema } from '../../fixtures/rest/legacy-db.js';
import { TestPostgres } from '../../support/postgres-server.js';

const yaml = readFileSync(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8');

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

describe('REST API while its PostgreSQL is down', () => {
  let pg: TestPostgres;
  let rt: ApiRuntime;
  let req: CheckedRequester;
  const lines: Line[] = [];
  const log = {
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Line['obj'], msg }),
    error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Line['obj'], msg }),
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Line['obj'], msg }),
  };

  beforeAll(async () => {
    pg = await TestPostgres.start();
    const seed = await openDatabase(pg.url());
    await createLegacySchema(seed.knex, 'postgres');
    await seed.close();
    const api = parseConfigText(yaml, { DB_URL: pg.url() }).api!;
    rt = await createApiRuntime(api, [], log);
    req = checkedRequester(createAppFromRuntime(api, rt, log));
    await req.check();
  });
  afterAll(async () => {
    await rt?.close();
    await pg?.stop();
  });

  it('answers 503 while down, logs one line per state change, and no stack traces', async () => {
    const printed = vi.spyOn(console, 'warn');
    const printedLog = vi.spyOn(console, 'log');
    try {
      expect((await req('GET', '/api/customers/C0001')).status).toBe(200);
      lines.length = 0;
      await pg.pause();
      for (let i = 0; i < 4; i++)
        expect((await req('GET', `/api/customers?limit=${i + 1}`)).status).toBe(503);
      expect((await req('GET', '/readyz')).status).toBe(503);
      const state = () => lines.filter((l) => l.obj.state !== undefined);
      expect(state()).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: 'database unreachable',
          obj: expect.objectContaining({ state: 'down', database: 'postgres' }),
        }),
      ]);
      await pg.resume();
      await expect.poll(async () => (await req('GET', '/api/customers/C0001')).status).toBe(200);
      expect(state().map((l) => [l.level, l.obj.state])).toEqual([
        ['warn', 'down'],
        ['info', 'up'],
      ]);
      const all = [
        ...lines.map((l) => `${l.msg} ${JSON.stringify(l.obj)}`),
        ...printed.mock.calls.flat(),
        ...printedLog.mock.calls.flat(),
      ];
      expect(all.filter((t) => String(t).includes('Acquire connection error'))).toEqual([]);
      // Nothing else: no knex warnings, no per-request error lines for the 503s.
      expect(lines.filter((l) => l.obj.state === undefined)).toEqual([]);
    } finally {
      printed.mockRestore();
      printedLog.mockRestore();
    }
  });
});

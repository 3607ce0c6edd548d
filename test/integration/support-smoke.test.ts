import { afterAll, beforeAll, expect, test } from 'vitest';
import { TestNatsServer } from '../support/nats-server.js';
import { TestPostgres } from '../support/postgres-server.js';

let pgs: TestPostgres;
let nats: TestNatsServer;
beforeAll(async () => {
  [pgs, nats] = await Promise.all([TestPostgres.start(), TestNatsServer.start()]);
});
afterAll(async () => {
  await Promise.all([pgs?.stop(), nats?.stop()]);
});

test('the test PostgreSQL runs with logical decoding', async () => {
  const [row] = await pgs.query<{ wal_level: string }>('SHOW wal_level');
  expect(row?.wal_level).toBe('logical');
});

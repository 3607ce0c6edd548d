// Back-pressure on the replication connection goes through pg-logical-replication's private
// socket (adapters/postgres/postgres-replication-internals.ts). Against the installed library and
// a real PostgreSQL: while the socket is paused, WAL the server has already sent produces no
// `data` events; after resume it all arrives. If a library release moves the socket or pausing it
// stops holding data back, this test fails.
import lr from 'pg-logical-replication';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { replicationSocket } from '../../adapters/postgres/postgres-replication-internals.js';
import { TestPostgres } from '../support/postgres-server.js';

const { LogicalReplicationService, PgoutputPlugin } = lr;

let pg: TestPostgres;

beforeAll(async () => {
  pg = await TestPostgres.start();
  await pg.query(`CREATE TABLE bp (id int PRIMARY KEY, note text)`);
  await pg.query(`CREATE PUBLICATION bp_pub FOR TABLE bp`);
  await pg.query(`SELECT pg_create_logical_replication_slot('bp_slot', 'pgoutput')`);
});
afterAll(async () => {
  await pg?.stop();
});

test('a paused replication socket holds back data the server has sent; resume delivers it', async () => {
  const service = new LogicalReplicationService(
    { connectionString: pg.url() },
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
  );
  const inserts: number[] = [];
  service.on('data', (_lsn: string, msg: { tag: string; new?: Record<string, unknown> }) => {
    if (msg.tag === 'insert') inserts.push(Number(msg.new?.id));
  });
  service.on('error', () => {});
  let started = false;
  service.on('start', () => {
    started = true;
  });
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['bp_pub'] });
  const done = service.subscribe(plugin, 'bp_slot').catch(() => {});
  try {
    await vi.waitFor(() => expect(started).toBe(true), { timeout: 20_000 });
    const socket = replicationSocket(service);

    await pg.query(`INSERT INTO bp VALUES (0, 'before the pause')`);
    await vi.waitFor(() => expect(inserts).toEqual([0]), { timeout: 20_000 });

    socket.pause();
    const [wal] = await pg.query<{ lsn: string }>(
      `WITH w AS (INSERT INTO bp SELECT g, repeat('x', 100) FROM generate_series(1, 200) g RETURNING 1)
       SELECT pg_current_wal_insert_lsn()::text AS lsn FROM (SELECT count(*) FROM w) c`,
    );
    // The walsender has sent past the commit: the changes are in our socket's buffers. Each poll
    // is a network round trip, so an unpaused socket would be read (and emit data) meanwhile.
    await vi.waitFor(
      async () => {
        const [r] = await pg.query<{ sent: boolean }>(
          `SELECT bool_or(sent_lsn >= $1::pg_lsn) AS sent FROM pg_stat_replication`,
          [wal!.lsn],
        );
        expect(r?.sent).toBe(true);
      },
      { timeout: 20_000, interval: 50 },
    );
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(inserts).toEqual([0]);

    socket.resume();
    await vi.waitFor(() => expect(inserts).toHaveLength(201), { timeout: 20_000 });
    expect(inserts).toEqual(Array.from({ length: 201 }, (_, i) => i));
  } finally {
    await service.destroy();
    await done;
  }
});

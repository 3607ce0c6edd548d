// A postgres source with `sinkWrites: drop` never publishes what a Sluice sink wrote (two-way sync
// without echoes), on both sides of the PostgreSQL 16 line: on 18 (embedded) the server filters
// with pgoutput's `origin 'none'` (which drops every replication origin's writes); on 15 (the
// system's packages) the server sends them and the source drops the transactions whose Origin
// message names a Sluice sink (another origin's writes are published).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { startRuntime, type Runtime } from '../../src/pipeline/runtime.js';
import { quietLog } from '../support/harness.js';
import { TestNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/ports.js';
import { TestPostgres } from '../support/postgres-server.js';
import { SystemPostgres, systemPostgresMissing } from '../support/system-postgres.js';

let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

interface Server {
  url(db?: string): string;
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

/** One session: inserts `id` under replication origin `origin` (none: a plain write). */
async function insert(url: string, id: number, origin: string | null): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    if (origin !== null) {
      await c.query(
        'SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)',
        [origin],
      );
      await c.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
    }
    await c.query('INSERT INTO items VALUES ($1, $2)', [id, origin ?? 'own']);
  } finally {
    await c.end();
  }
}

async function run(server: Server, source: string): Promise<{ ids: number[]; walsender: string }> {
  await server.query('CREATE TABLE items (id int PRIMARY KEY, who text)');
  const cfg = parseConfig({
    nats: { servers: nats.url, commitInterval: '50ms', leaseTtl: '2s' },
    sources: [
      {
        name: source,
        kind: 'postgres',
        url: server.url(),
        tables: ['public.items'],
        heartbeatInterval: '1s',
        sinkWrites: 'drop',
      },
    ],
    log: { level: 'warn' },
  });
  let rt: Runtime | null = null;
  try {
    rt = await startRuntime(cfg, quietLog);
    const started = rt;
    await waitFor(
      async () => started.coordinators.every((c) => c.state === 'streaming'),
      'streaming',
      60_000,
    );
    await insert(server.url(), 1, null);
    await insert(server.url(), 2, 'sluice_sink_toapp');
    await insert(server.url(), 3, 'another_subscription');
    await insert(server.url(), 4, null);
    const events = await waitFor(
      async () => {
        const e = await readAll(nc, 'SLUICE', `sluice.${source}.>`);
        return e.some((x) => (x.event.after as { id?: number } | null)?.id === 4) ? e : null;
      },
      'the last plain write in the stream',
      60_000,
      100,
    );
    const walsender = await server.query<{ query: string }>(
      `SELECT query FROM pg_stat_activity WHERE backend_type = 'walsender' AND query LIKE 'START_REPLICATION%'`,
    );
    return {
      ids: events.map((e) => (e.event.after as { id: number }).id),
      walsender: walsender[0]?.query ?? '',
    };
  } finally {
    await rt?.stop();
    await server.stop();
  }
}

describe('sinkWrites: drop', () => {
  test('PostgreSQL 18: filtered in the server (origin none), so no replication origin reaches the stream', async () => {
    const r = await run(await TestPostgres.start(), 'app18');
    expect(r.ids).toEqual([1, 4]);
    expect(r.walsender).toContain("origin 'none'");
  });

  test.skipIf(systemPostgresMissing !== null)(
    `PostgreSQL 15 (system packages${systemPostgresMissing ? `: ${systemPostgresMissing}` : ''}): the source drops a Sluice sink's transactions by their Origin message`,
    async () => {
      const server = await SystemPostgres.start();
      expect(Number((await server.query('SHOW server_version_num'))[0]!.server_version_num)).toBeLessThan(
        160_000,
      );
      const r = await run(server, 'app15');
      expect(r.ids).toEqual([1, 3, 4]);
      expect(r.walsender).not.toContain('origin');
    },
  );
});

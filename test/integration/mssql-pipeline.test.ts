// `sluice run` with a `kind: mssql` source against a FAKE TDS server (SQL Server cannot run here)
// and a real nats-server: the snapshot and the CDC changes reach JetStream through the real
// pipeline (publish → PubAck → offset commit), and a restart resumes from the committed offset
// without publishing anything twice.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { mssqlOffsetCodec } from '../../adapters/mssql/mssql-offset.js';
import { parseConfig } from '../../src/config/load.js';
import { KvOffsetStore } from '../../src/nats/offset-store.js';
import { readAll, type StoredEvent } from '../../src/nats/stream-reader.js';
import { startRuntime } from '../../src/pipeline/runtime.js';
import { startFakeTdsServer, type FakeTdsServer } from '../support/fake-tds-server.js';
import { quietLog } from '../support/harness.js';
import { L, respond, scenario } from '../support/mssql-recorded.js';
import { TestNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/ports.js';

describe('sluice run with an mssql source (fake TDS server, real nats-server)', () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let tds: FakeTdsServer;
  const s = scenario({ maxLsn: L.C });

  beforeAll(async () => {
    [nats, tds] = await Promise.all([TestNatsServer.start(), startFakeTdsServer((sql) => respond(s, sql))]);
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close().catch(() => {});
    await Promise.allSettled([nats?.stop(), tds?.close()]);
  });

  const config = () =>
    parseConfig({
      nats: { servers: nats.url, commitInterval: '50ms', leaseTtl: '2s' },
      sources: [
        {
          name: 'erp',
          kind: 'mssql',
          url: `mssql://sa:pw@127.0.0.1:${tds.port}/erp`,
          tables: ['dbo.orders', 'dbo.customers'],
          pollInterval: '50ms',
        },
      ],
      log: { level: 'warn' },
    });

  async function events(n: number, what: string): Promise<StoredEvent[]> {
    return waitFor(
      async () => {
        const evs = await readAll(nc, 'SLUICE', 'sluice.erp.>');
        return evs.length >= n ? evs : null;
      },
      what,
      60_000,
      100,
    );
  }

  it('fake TDS server: publishes snapshot and CDC events in commit order, and resumes after a restart without duplicates', async () => {
    const first = await startRuntime(config(), quietLog);
    try {
      // 3 snapshot reads + commits B and C (7 changes).
      await events(10, '10 events from the first run');
    } finally {
      await first.stop();
    }
    // The capture job catches up to D while sluice is down.
    s.maxLsn = L.D;
    const committed = await new KvOffsetStore(await new Kvm(nc).open('sluice_offsets')).load('erp');
    const resumeAt = (mssqlOffsetCodec.parse(committed!.offset) as { lsn: string }).lsn;
    const restartAt = s.seen.length;
    const second = await startRuntime(config(), quietLog);
    let all: StoredEvent[];
    try {
      all = await events(12, '12 events after the restart');
      // Let the source poll again twice from D (it found nothing new), then look: a re-read of
      // committed changes would be published by then.
      const fromD = () =>
        s.seen.filter((q) => q.includes('fn_cdc_map_lsn_to_time(0x00000026000000100003)')).length;
      const seen = fromD();
      await waitFor(async () => fromD() >= seen + 2, 'two more polls from D', 30_000, 20);
      all = await readAll(nc, 'SLUICE', 'sluice.erp.>');
    } finally {
      await second.stop();
    }
    expect(all.map((e) => `${String(e.event.op)} ${e.subject}`)).toEqual([
      'r sluice.erp.dbo.orders.r',
      'r sluice.erp.dbo.orders.r',
      'r sluice.erp.dbo.customers.r',
      'c sluice.erp.dbo.orders.c',
      'u sluice.erp.dbo.customers.u',
      'c sluice.erp.dbo.orders.c',
      'd sluice.erp.dbo.orders.d',
      'c sluice.erp.dbo.orders.c',
      'u sluice.erp.dbo.customers.u',
      'u sluice.erp.dbo.customers.u',
      'u sluice.erp.dbo.orders.u',
      'd sluice.erp.dbo.customers.d',
    ]);
    expect(new Set(all.map((e) => e.msgId)).size).toBe(12);
    expect(all[4]!.msgId).toBe('erp:000000250000009f0004:000000250000009e0003:4:0');
    expect(all[4]!.key).toEqual({ id: '9007199254740993' });
    // The second run read the change tables from the committed offset's commit LSN (how far the
    // first run's last commit got before it stopped depends on timing), not from anywhere earlier.
    const reads = s.seen.slice(restartAt).filter((q) => /fn_cdc_get_all_changes_/.test(q));
    expect(reads[0]).toContain(`(0x${resumeAt}, 0x00000026000000100003, N'all update old')`);
    // The snapshot ran once.
    expect(s.seen.filter((q) => /BEGIN TRANSACTION/.test(q))).toHaveLength(1);
  });
});

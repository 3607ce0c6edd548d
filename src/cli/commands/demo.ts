// `sluice demo`: an embedded legacy database, its change stream and its REST API, end to end.
import type { Command } from 'commander';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { parseConfig } from '../../config/load.js';
import { DEMO_RESOURCES, LEGACY_DDL, LEGACY_WRITES } from '../../demo/legacy-schema.js';
import { freePort, startEmbeddedPostgres, startNats } from '../../demo/services.js';
import { startDemoReceiver, type Delivery } from '../../demo/webhook-receiver.js';
import { startApi } from '../../http/server.js';
import { toStoredEvent } from '../../nats/stream-reader.js';
import { startRuntime } from '../../pipeline/runtime.js';
import { createLogger } from '../../util/logger.js';
import { formatEvent } from './tail.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start an embedded legacy database, stream its changes to NATS and serve it as a REST API')
    .option('--keep-running', 'keep serving after the scripted writes (default when run in a terminal)')
    .option(
      '--exit',
      'stop after the scripted writes have been printed (default when output is not a terminal)',
    )
    .action(async (opts: { keepRunning?: boolean; exit?: boolean }) => {
      const keep = opts.keepRunning ?? (!opts.exit && Boolean(process.stdout.isTTY));
      const out = (s: string) => process.stdout.write(`${s}\n`);
      const log = createLogger(process.env.SLUICE_LOG_LEVEL ?? 'warn');
      const cleanups: (() => Promise<unknown>)[] = [];
      const cleanup = async () => {
        for (const c of cleanups.reverse()) await c().catch(() => {});
      };
      try {
        out(
          'sluice demo: starting an embedded PostgreSQL (wal_level=logical) with a legacy order-entry database…',
        );
        const db = await startEmbeddedPostgres();
        cleanups.push(() => db.stop());
        const seed = new pg.Client({ connectionString: db.url });
        await seed.connect();
        await seed.query(LEGACY_DDL);
        const nats = await startNats();
        cleanups.push(() => nats.stop());
        out(`NATS: ${nats.url}${nats.started ? ' (nats-server started for the demo)' : ''}`);
        const apiPort = await freePort();
        // A receiving system of our own: each resource event is POSTed to it, signed, and it verifies
        // the signature with the Standard Webhooks reference library before printing the body.
        const deliveries: Delivery[] = [];
        const receiver = await startDemoReceiver((d) => {
          deliveries.push(d);
          out(
            `  ⇢ webhook ${d.event?.type ?? '?'} ${d.event?.subject ?? ''}  signature ${d.verified ? 'verified ✓' : 'INVALID ✗'}  ${JSON.stringify((d.event?.data as { after?: unknown } | undefined)?.after ?? null)}`,
          );
        });
        cleanups.push(() => receiver.close());
        const cfg = parseConfig({
          nats: {
            servers: nats.url,
            stream: 'SLUICE_DEMO',
            subjectPrefix: 'sluice',
            kvBucket: 'sluice_demo_offsets',
          },
          sources: [
            { name: 'erp', kind: 'postgres', url: db.url, tables: ['erp.*'], heartbeatInterval: '5s' },
          ],
          api: { listen: `127.0.0.1:${apiPort}`, basePath: '/api', resources: DEMO_RESOURCES },
          webhooks: [{ name: 'demo-receiver', url: receiver.url, secret: receiver.secret }],
        });
        out(`webhook receiver: ${receiver.url} (resource events, signed; verified on arrival)`);
        const rt = await startRuntime(cfg, log);
        cleanups.push(() => rt.stop());
        const api = await startApi(cfg, log);
        cleanups.push(() => api.close());

        // Print every event of the demo stream as it arrives.
        const js = jetstream(rt.nc);
        const consumer = await js.consumers.get('SLUICE_DEMO', {
          filter_subjects: 'sluice.erp.>',
          deliver_policy: DeliverPolicy.All,
        });
        const messages = await consumer.consume();
        cleanups.push(async () => messages.close());
        let seen = 0;
        const printing = (async () => {
          for await (const m of messages) {
            const e = toStoredEvent(m);
            seen++;
            out(`${formatEvent(e).trimEnd()}\n    subject ${e.subject}  Nats-Msg-Id ${e.msgId}`);
          }
        })();
        const waitSeen = async (n: number) => {
          for (let i = 0; i < 200 && seen < n; i++) await new Promise((r) => setTimeout(r, 50));
        };

        out('\n— initial snapshot (op r) —');
        await waitSeen(5);
        let expected = 5;
        for (const w of LEGACY_WRITES) {
          out(`\n— the legacy application: ${w.say} —`);
          const before = seen;
          await seed.query(w.sql);
          expected += w.sql.startsWith('BEGIN') ? 2 : 1;
          await waitSeen(expected);
          if (seen === before) out('    (no event yet)');
        }
        out('\n— a write through the REST API is a write to the legacy table, so it is in the stream too —');
        const res = await fetch(`${api.url}/api/customers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            id: 'C0000005',
            name: 'ECHO ELECTRIC',
            active: true,
            createdOn: new Date().toISOString().slice(0, 10),
            creditLimit: '750.00',
          }),
        });
        out(`POST ${api.url}/api/customers → ${res.status}`);
        expected += 1;
        await waitSeen(expected);
        await seed.end();
        // The webhook deliveries of the writes above (resource events in the API shape).
        for (let i = 0; i < 100 && deliveries.length < 6; i++) await new Promise((r) => setTimeout(r, 50));
        out(
          `\n${deliveries.length} webhook deliveries, ${deliveries.filter((d) => d.verified).length} with a verified signature`,
        );

        const sample = await (
          await fetch(`${api.url}/api/customers?active=eq.true&order=name.asc&limit=2`)
        ).json();
        out(
          `\nGET ${api.url}/api/customers?active=eq.true&order=name.asc&limit=2\n${JSON.stringify(sample, null, 2)}`,
        );
        out(`\nTry:
  ${api.url}/api/customers            (list, filters like ?active=eq.true, keyset ?cursor=)
  ${api.url}/api/customers/C0000001?embed=orders
  ${api.url}/api/orders?status=eq.open
  ${api.url}/api/docs                 (interactive reference)
  ${api.url}/api/openapi.json
  curl -N ${api.url}/api/customers/changes   (the change feed: Server-Sent Events; make a change meanwhile)
  npx sluice tail --server ${nats.url} --stream SLUICE_DEMO --from-start`);
        if (keep) {
          out('\nRunning; Ctrl-C to stop.');
          await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
          });
        }
        await messages.close();
        await printing.catch(() => {});
      } finally {
        await cleanup();
      }
    });
}

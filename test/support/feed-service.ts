// A running REST service with the change feed for tests: private nats-server, a SQLite database
// holding the legacy fixture (test/fixtures/rest), startApi() listening on a free port, and a NATS
// connection to publish resource events with.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { SluiceConfig } from '../../src/config/schema.js';
import { startApi } from '../../src/http/server.js';
import { ensureStream } from '../../src/nats/provision.js';
import { openDatabase, type ApiDatabase } from '../../src/sql/database.js';
import { createLogger } from '../../src/util/logger.js';
import { createLegacySchema } from '../fixtures/rest/legacy-db.js';
import type { Json } from '../fixtures/rest/request.js';
import { TestNatsServer } from './nats-server.js';

export interface FeedService {
  readonly url: string;
  readonly cfg: SluiceConfig;
  readonly nats: TestNatsServer;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The service's database (the legacy tables), for changes made with SQL. */
  readonly db: ApiDatabase;
  close(): Promise<void>;
}

/** `patchApi` edits the fixture's `api` section (plain YAML data) before it is parsed. */
export async function startFeedService(patchApi: (api: Json) => void = () => {}): Promise<FeedService> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-feed-'));
  const nats = await TestNatsServer.start();
  const dbUrl = `sqlite:${join(dir, 'legacy.db')}`;
  const db = await openDatabase(dbUrl);
  await createLegacySchema(db.knex, 'sqlite');
  const api: Json = parse(
    await readFile(new URL('../fixtures/rest/legacy.yaml', import.meta.url), 'utf8'),
  ).api;
  api.database = dbUrl;
  api.changes = { heartbeat: '200ms', idleTimeout: '300ms', defaultWait: '2s', maxWait: '10s' };
  patchApi(api);
  const cfg = parseConfig(
    { nats: { servers: nats.url, stream: 'FEED', subjectPrefix: 'feed' }, api, log: { level: 'silent' } },
    {},
  );
  const service = await startApi(cfg, createLogger('silent'));
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, cfg.nats);
  return {
    url: service.url,
    cfg,
    nats,
    nc,
    js: jetstream(nc),
    jsm,
    db,
    async close() {
      await service.close();
      await nc.close();
      await db.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The source contract for `kind: triggers` (changelog + capture triggers installed by migrate).
import { parseConfig } from '../../src/config/load.js';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import { quietLog } from '../support/harness.js';
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db, type DbKind } from './contract-targets.js';

const kinds: DbKind[] = ['sqlite', 'postgres', 'mariadb', 'mssql', 'oracle'];

for (const kind of kinds) {
  const skip = skipReason(kind);
  if (skip) {
    runSourceContract(`triggers on ${kind}`, { skip });
    continue;
  }
  runSourceContract(`triggers on ${kind}`, () => {
    let db: Db;
    let n = 0;
    return {
      async start() {
        db = await startDb(kind);
        return db.knex;
      },
      stop: () => db.stop(),
      qualified: (name) => db.qualified(name),
      // One changelog per test table, so each test's migrate and prune stand alone.
      source: (_name, tables) => ({
        kind: 'triggers',
        url: db.url,
        pollInterval: '100ms',
        lookBack: '300ms',
        changelog: `sluice_cl_${++n}`,
        tables,
      }),
      async install(source) {
        const cfg = parseConfig({ sources: [source] }).sources[0]!;
        if (cfg.kind !== 'triggers') throw new Error('not a triggers source');
        await migrateSource(cfg, quietLog, false);
      },
      sees: { updates: true, deletes: true },
      // One read snapshot for the pass where the database gives one (SQLite: in WAL mode, as here).
      firstPassExactlyOnce: kind === 'sqlite' || kind === 'postgres' || kind === 'mariadb',
      smallChunks: { chunkSize: 20 },
      ...(kind === 'sqlite'
        ? {
            noConcurrentWriters:
              'SQLite has one writer at a time, so no transaction can commit around another',
          }
        : {}),
    };
  });
}

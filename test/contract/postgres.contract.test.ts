// The source contract for `kind: postgres` (logical replication), the reference adapter.
import { runSourceContract } from './source-contract.js';
import { startDb, type Db } from './contract-targets.js';

runSourceContract('postgres (logical replication)', () => {
  let db: Db;
  return {
    async start() {
      db = await startDb('postgres');
      return db.knex;
    },
    stop: () => db.stop(),
    qualified: (n) => db.qualified(n),
    source: (_name, tables) => ({
      kind: 'postgres',
      url: db.url,
      heartbeatInterval: '1s',
      slotBusyTimeout: '20s',
      tables,
    }),
    sees: { updates: true, deletes: true },
    // The snapshot is the one the slot exports: changes after it come from the slot only.
    firstPassExactlyOnce: true,
    smallChunks: { snapshotChunkSize: 20 },
  };
});

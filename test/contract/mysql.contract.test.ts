// The source contract for `kind: mysql` (binlog capture) against a private MariaDB 10.11 with the
// binlog in ROW format, FULL row images and row metadata, GTIDs (always on in MariaDB).
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db } from './contract-targets.js';

const skip = skipReason('mariadb');

runSourceContract(
  'mysql (MariaDB binlog)',
  skip
    ? { skip }
    : () => {
        let db: Db;
        return {
          async start() {
            db = await startDb('mariadb');
            return db.knex;
          },
          stop: () => db.stop(),
          qualified: (n) => db.qualified(n),
          source: (_name, tables) => ({
            kind: 'mysql',
            url: db.url,
            heartbeatInterval: '1s',
            socketTimeout: '10s',
            tables,
          }),
          sees: { updates: true, deletes: true },
          // The snapshot's read view and its binlog position are one (binlog_snapshot_*).
          firstPassExactlyOnce: true,
          smallChunks: { snapshotChunkSize: 20 },
        };
      },
);

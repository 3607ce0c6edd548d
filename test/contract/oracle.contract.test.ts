// The source contract for `kind: oracle` (LogMiner) against a real Oracle when ORACLE_URL points at
// one (docker compose --profile oracle up; see adapters/oracle/README.md), skipped with that reason
// otherwise. The URL's user creates the test tables and mines them (the compose service's
// c##sluice has both rights); each table gets supplemental logging of all columns before capture.
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db } from './contract-targets.js';

const skip = skipReason('oracle');

runSourceContract(
  'oracle (LogMiner)',
  skip
    ? { skip }
    : () => {
        let db: Db;
        return {
          async start() {
            db = await startDb('oracle');
            return db.knex;
          },
          stop: () => db.stop(),
          qualified: (n) => db.qualified(n),
          source: (_name, tables) => ({
            kind: 'oracle',
            url: db.url,
            pollInterval: '200ms',
            tables,
          }),
          async install(source) {
            for (const t of source.tables as string[]) {
              const [owner, table] = t.split('.') as [string, string];
              await db.knex.raw(`ALTER TABLE "${owner}"."${table}" ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS`);
            }
          },
          sees: { updates: true, deletes: true },
          // The snapshot reads AS OF one SCN and streaming publishes only what commits after it.
          firstPassExactlyOnce: true,
          smallChunks: { snapshotChunkSize: 20 },
        };
      },
);

// The source contract for `kind: mssql` (CDC change tables) against a real SQL Server, when MSSQL_URL
// points at one (docker compose up mssql mssql-init: the database `sluice_test` with CDC, snapshot
// isolation and a running Agent). Skipped, with that reason, when it is not set.
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db } from './contract-targets.js';
import { waitFor } from '../support/ports.js';

const skip = skipReason('mssql');

runSourceContract(
  'mssql (SQL Server CDC)',
  skip
    ? { skip }
    : () => {
        let db: Db;
        return {
          async start() {
            db = await startDb('mssql');
            return db.knex;
          },
          stop: () => db.stop(),
          qualified: (n) => db.qualified(n),
          source: (_name, tables) => ({ kind: 'mssql', url: db.url, pollInterval: '200ms', tables }),
          // Each test table gets a capture instance; the Agent's capture job then fills it.
          async install(source) {
            for (const t of source.tables as string[]) {
              const [schema, name] = t.split('.') as [string, string];
              await db.knex.raw(
                'EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = NULL',
                [schema, name],
              );
            }
            await waitFor(
              async () => {
                const rows = await db.knex.raw<{ l: Buffer | null }[]>('SELECT sys.fn_cdc_get_max_lsn() AS l');
                return rows[0]?.l ? true : null;
              },
              'the CDC capture job (sys.fn_cdc_get_max_lsn() not NULL)',
              60_000,
              500,
            );
          },
          sees: { updates: true, deletes: true },
          // The capture job lags the log: a change committed before the snapshot but captured
          // after its max LSN is read again as c/u (state converges; README says so).
          firstPassExactlyOnce: false,
          smallChunks: { snapshotChunkSize: 20 },
        };
      },
);

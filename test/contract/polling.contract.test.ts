// The source contract for `kind: polling`, diff and incrementing modes, on real databases.
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db, type DbKind } from './contract-targets.js';

const kinds: DbKind[] = ['sqlite', 'postgres', 'mariadb', 'mssql', 'oracle'];

for (const kind of kinds) {
  for (const mode of ['diff', 'incrementing'] as const) {
    const skip = skipReason(kind);
    if (skip) {
      runSourceContract(`polling ${mode} on ${kind}`, { skip });
      continue;
    }
    runSourceContract(`polling ${mode} on ${kind}`, () => {
      let db: Db;
      return {
        async start() {
          db = await startDb(kind);
          return db.knex;
        },
        stop: () => db.stop(),
        qualified: (n) => db.qualified(n),
        source: (_name, tables) => ({
          kind: 'polling',
          url: db.url,
          pollInterval: '100ms',
          lookBack: '300ms',
          stateDir: db.dir,
          tables: mode === 'diff' ? tables : tables.map((table) => ({ table, mode, column: 'id' })),
        }),
        sees: { updates: mode === 'diff', deletes: mode === 'diff' },
        ...(kind === 'sqlite'
          ? {
              noConcurrentWriters:
                'SQLite has one writer at a time, so no transaction can commit around another',
            }
          : {}),
      };
    });
  }
}

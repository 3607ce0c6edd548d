// The source contract for `kind: polling` (diff, incrementing and timestamp modes) on real databases.
import type { Knex } from 'knex';
import { localIso, utcIso } from '../../src/sql/changelog-values.js';
import { runSourceContract } from './source-contract.js';
import { skipReason, startDb, type Db, type DbKind } from './contract-targets.js';

const kinds: DbKind[] = ['sqlite', 'postgres', 'mariadb', 'mssql', 'oracle'];
const modes = ['diff', 'incrementing', 'timestamp'] as const;

/**
 * The contract's tables are (id, name); timestamp mode needs a last-modified column, so each table
 * gets `ts`, stamped by the database on insert and update the way legacy schemas usually do it.
 */
async function addTimestampColumn(kind: DbKind, knex: Knex, qualified: string): Promise<void> {
  const [schema, name] = qualified.split('.') as [string, string];
  switch (kind) {
    case 'sqlite': {
      const now = `strftime('%Y-%m-%d %H:%M:%f', 'now')`;
      await knex.raw(`ALTER TABLE "${name}" ADD COLUMN ts TEXT`);
      await knex.raw(`UPDATE "${name}" SET ts = ${now}`);
      await knex.raw(
        `CREATE TRIGGER "${name}_ts_i" AFTER INSERT ON "${name}" BEGIN UPDATE "${name}" SET ts = ${now} WHERE id = NEW.id; END`,
      );
      await knex.raw(
        `CREATE TRIGGER "${name}_ts_u" AFTER UPDATE OF name ON "${name}" BEGIN UPDATE "${name}" SET ts = ${now} WHERE id = NEW.id; END`,
      );
      return;
    }
    case 'postgres':
      // now() is the transaction's start: a long transaction stamps its rows early and commits them late.
      await knex.raw(`ALTER TABLE "${schema}"."${name}" ADD COLUMN ts timestamptz NOT NULL DEFAULT now();
        CREATE OR REPLACE FUNCTION sluice_touch() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN NEW.ts := now(); RETURN NEW; END $$;
        CREATE TRIGGER "${name}_touch" BEFORE UPDATE ON "${schema}"."${name}"
          FOR EACH ROW EXECUTE FUNCTION sluice_touch();`);
      return;
    case 'mariadb':
      await knex.raw(
        `ALTER TABLE \`${name}\` ADD COLUMN ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)`,
      );
      return;
    case 'mssql':
    case 'oracle':
      throw new Error(`no timestamp column set-up for ${kind}`);
    default: {
      const never: never = kind;
      throw new Error(`unknown database ${String(never)}`);
    }
  }
}

for (const kind of kinds) {
  for (const mode of modes) {
    const skip =
      skipReason(kind) ??
      (mode === 'timestamp' && (kind === 'mssql' || kind === 'oracle')
        ? 'the timestamp-mode contract has no last-modified column set-up for this database yet'
        : undefined);
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
          tables:
            mode === 'diff'
              ? tables
              : tables.map((table) => ({ table, mode, column: mode === 'timestamp' ? 'ts' : 'id' })),
        }),
        ...(mode === 'timestamp'
          ? {
              async install(source: Record<string, unknown>) {
                // The table read back by the verifier in UTC, as the source reads it (its session is UTC).
                if (kind === 'mariadb') await db.knex.raw(`SET GLOBAL time_zone = '+00:00'`);
                for (const t of source.tables as { table: string }[])
                  await addTimestampColumn(kind, db.knex, t.table);
              },
              // Events carry timestamps ISO-8601 in UTC with every digit (README "Change events").
              normalize: (row: Record<string, unknown>) => ({
                ...row,
                ts: kind === 'mariadb' ? `${String(localIso(row.ts))}Z` : kind === 'postgres' ? utcIso(row.ts) : row.ts,
              }),
            }
          : {}),
        sees: { updates: mode !== 'incrementing', deletes: mode === 'diff' },
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

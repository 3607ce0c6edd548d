// Reads what `sluice sink init` needs from the source database and builds the migration's text.
import type { SluiceConfig, SourceConfig } from '../config/schema.js';
import type { SinkConfig } from '../config/sinks.js';
import { ConfigError } from '../core/errors.js';
import { openDatabase } from '../sql/database.js';
import { sinkMigration, type InitTable } from './sink-init.js';
import { SinkMapping } from './sink-mapping.js';

export async function sinkInitMigration(
  cfg: SluiceConfig,
  sink: SinkConfig,
  source: SourceConfig,
): Promise<string> {
  const db = await openDatabase(source.url, { tls: source.tls });
  try {
    const introspector = await db.dialect.introspector?.();
    if (!introspector) throw new ConfigError(`cannot read the schema of ${db.dialect.name} databases`);
    const mapping = new SinkMapping(sink, cfg.api?.resources ?? {});
    const names =
      Object.keys(sink.tables).length > 0
        ? Object.keys(sink.tables)
        : source.tables.map((t) => (typeof t === 'string' ? t : t.table));
    const tables: InitTable[] = [];
    for (const name of names) {
      const [schema, table] = name.split('.') as [string, string];
      tables.push({
        source: name,
        info: await introspector.describe(db.knex, db.dialect.introspectName(schema, table)),
      });
    }
    return sinkMigration(sink, mapping, tables, (s) => mapping.resourceOf(s));
  } finally {
    await db.close();
  }
}

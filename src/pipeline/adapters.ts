// Source kind → adapter factory. Adapters (and their drivers) load lazily: a PostgreSQL-only user
// never loads another database's driver.
import type { SourceConfig } from '../config/schema.js';
import type { AnySourceAdapter, Logger } from '../core/source-adapter.js';

export async function createSourceAdapter(cfg: SourceConfig, log: Logger): Promise<AnySourceAdapter> {
  switch (cfg.kind) {
    case 'postgres': {
      const { createPostgresAdapter } = await import('../../adapters/postgres/index.js');
      return createPostgresAdapter(cfg, log);
    }
    case 'mysql': {
      const { createMysqlAdapter } = await import('../../adapters/mysql/index.js');
      return createMysqlAdapter(cfg, log);
    }
    case 'oracle': {
      const { createOracleAdapter } = await import('../../adapters/oracle/index.js');
      return createOracleAdapter(cfg, log);
    }
    case 'mssql': {
      const { createMssqlAdapter } = await import('../../adapters/mssql/index.js');
      return createMssqlAdapter(cfg, log);
    }
    case 'polling': {
      const { createPollingAdapter } = await import('../../adapters/polling/index.js');
      return createPollingAdapter(cfg, log);
    }
    case 'triggers': {
      const { createTriggersAdapter } = await import('../../adapters/triggers/index.js');
      return createTriggersAdapter(cfg, log);
    }
    default: {
      const never: never = cfg;
      throw new Error(`unknown source kind ${String((never as { kind?: unknown }).kind)}`);
    }
  }
}

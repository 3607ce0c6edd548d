// Config keys of `kind: mysql` sources (MySQL and MariaDB binlog). No driver import here: the
// config loader reads it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { duration } from '../../src/config/duration.js';
import { commonSourceShape } from '../../src/config/source-common.js';

export const mysqlSourceSchema = z.strictObject({
  ...commonSourceShape,
  kind: z.literal('mysql'),
  url: z
    .string()
    .regex(/^(mysql|mariadb):\/\//, 'expected a mysql:// or mariadb:// URL')
    .describe('Connection URL of a user with REPLICATION SLAVE, REPLICATION CLIENT and SELECT on the tables'),
  serverId: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32 - 1)
    .optional()
    .describe(
      'The replica server_id this source reads the binlog as; unique among every replica and reader of the server. Default: derived from the source name (see serverIdOf)',
    ),
  heartbeatInterval: duration('10s').describe(
    'The server sends a heartbeat event this often while the binlog is quiet (MASTER_HEARTBEAT_PERIOD)',
  ),
  socketTimeout: duration('60s').describe(
    'A binlog connection that delivers nothing (not even a heartbeat) for this long is treated as dead and reconnected',
  ),
  snapshotChunkSize: z
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('Rows per keyset page during the snapshot'),
  maxBatchRows: z
    .number()
    .int()
    .positive()
    .default(2000)
    .describe('A large transaction is handed to the publisher in chunks of this many rows'),
});

export type MysqlSourceConfig = z.infer<typeof mysqlSourceSchema>;

/**
 * The server_id a source reads with: the configured one, else a stable number from the source
 * name in 1000000..4294967295 (clear of the small ids servers are usually given). Two sources with
 * one name on one server would clash; names are unique per config.
 */
export function serverIdOf(cfg: Pick<MysqlSourceConfig, 'serverId' | 'name'>): number {
  if (cfg.serverId !== undefined) return cfg.serverId;
  const h = createHash('sha1').update(`sluice:${cfg.name}`).digest().readUInt32BE(0);
  return 1_000_000 + (h % (2 ** 32 - 1_000_001));
}

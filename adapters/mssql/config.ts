// Config keys of `kind: mssql` sources (SQL Server CDC or Change Tracking). No driver import here:
// the config loader reads it.
import { z } from 'zod';
import { duration } from '../../src/config/duration.js';
import { commonSourceShape } from '../../src/config/source-common.js';

export const mssqlSourceSchema = z.strictObject({
  ...commonSourceShape,
  kind: z.literal('mssql'),
  url: z
    .string()
    .regex(/^(mssql|sqlserver):\/\//, 'expected a mssql:// URL')
    .describe(
      "mssql://user:password@host[:port]/database[?encrypt=true&trustServerCertificate=false&instanceName=X]; the user needs SELECT on the tables and the cdc schema (db_owner, or the capture instances' gating role)",
    ),
  mode: z
    .enum(['cdc', 'changeTracking'])
    .default('cdc')
    .describe(
      'cdc: read the CDC change tables (full before images, every intermediate change); changeTracking: CHANGETABLE net changes by key, for editions or DBAs without CDC (no before image, no intermediate versions)',
    ),
  pollInterval: duration('500ms').describe(
    'Time between two reads of the change tables when the last read found nothing',
  ),
  maxTransactionsPerPoll: z
    .number()
    .int()
    .positive()
    .default(500)
    .describe('cdc: one read covers at most this many transactions (cdc.lsn_time_mapping), bounding memory'),
  snapshotChunkSize: z
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('Rows per batch during the snapshot (the driver is paused while a batch is published)'),
  requestTimeout: duration('120s').describe('How long one query may run (tedious requestTimeout)'),
});

export type MssqlSourceConfig = z.infer<typeof mssqlSourceSchema>;

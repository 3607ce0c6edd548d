// Config keys of `kind: postgres` sources. No driver import here: the config loader reads it.
import { z } from 'zod';
import { duration } from '../../src/config/duration.js';
import { commonSourceShape } from '../../src/config/source-common.js';

const identifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'expected a lower-case PostgreSQL identifier (letters, digits, _; at most 63)',
  );

export const postgresSourceSchema = z.strictObject({
  ...commonSourceShape,
  kind: z.literal('postgres'),
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .describe('Connection URL of a role with REPLICATION (or superuser) and SELECT on the tables'),
  slot: identifier.optional().describe('Replication slot name; default sluice_<source name>'),
  publication: identifier.optional().describe('Publication name; default sluice_<source name>'),
  createPublication: z
    .boolean()
    .default(true)
    .describe('Create or extend the publication when tables are missing from it'),
  heartbeatInterval: duration('10s').describe(
    'How often pg_logical_emit_message runs so a quiet database does not hold WAL; 0 turns it off',
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
  slotBusyTimeout: duration('90s').describe(
    'How long to retry when the slot is still active for a previous connection',
  ),
  sinkWrites: z
    .enum(['tag', 'drop'])
    .default('tag')
    .describe(
      "Changes a Sluice sink wrote into this database (two-way): tag publishes them with the sink's name (Sluice-Origin; the other direction's sink skips them); drop never publishes them (PostgreSQL >= 16 filters in the server with pgoutput origin 'none', which drops every change written under any replication origin; older servers send them and the source drops those of Sluice sinks)",
    ),
});

export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;

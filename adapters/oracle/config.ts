// Config keys of `kind: oracle` sources (LogMiner). No driver import here: the config loader reads it.
import { z } from 'zod';
import { duration } from '../../src/config/duration.js';
import { commonSourceShape } from '../../src/config/source-common.js';

export const oracleSourceSchema = z.strictObject({
  ...commonSourceShape,
  kind: z.literal('oracle'),
  url: z
    .string()
    .regex(/^oracle:\/\//, 'expected an oracle:// URL')
    .describe(
      'oracle://user:password@host[:port]/service_name of the LogMiner user (Thin mode, Oracle 12.1 or later); see adapters/oracle/README.md for its grants',
    ),
  pollInterval: duration('1s').describe('Pause between two mining windows once the stream has caught up'),
  miningWindow: z
    .number()
    .int()
    .positive()
    .default(100_000)
    .describe('Most SCNs one LogMiner session (START_LOGMNR .. END_LOGMNR) covers'),
  maxBatchRows: z
    .number()
    .int()
    .positive()
    .default(2000)
    .describe('A large transaction is handed to the publisher in chunks of this many rows'),
  spillAfterRows: z
    .number()
    .int()
    .positive()
    .default(50_000)
    .describe(
      'A transaction buffered past this many rows goes on in a temporary file until it commits or rolls back (it is never dropped)',
    ),
  longTransactionWarning: duration('15m').describe(
    'An open transaction older than this is logged at warn on every window: it holds the restart SCN back, so its redo must stay available',
  ),
  snapshotChunkSize: z
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('Rows per keyset page during the snapshot'),
});

export type OracleSourceConfig = z.infer<typeof oracleSourceSchema>;

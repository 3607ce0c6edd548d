// MySQL/MariaDB offsets: a binlog position at a transaction boundary (file and pos, and the GTID
// position or set where the server has GTIDs), plus, while a snapshot is unfinished or just
// resumed, its progress.
import { z } from 'zod';
import { parseJsonOffset, type OffsetCodec } from '../../src/core/offset.js';

/** Where a restart reads from: the end of a committed transaction. */
const pointSchema = z.object({
  /** Binlog file (`binlog.000042`). */
  file: z.string().min(1),
  /** Byte position in `file` after the transaction's commit event. */
  pos: z.number().int().nonnegative(),
  /**
   * MariaDB: the GTID position (`0-1-1234,1-3-45`, the last transaction per domain); MySQL with
   * gtid_mode=ON: the executed GTID set. Resuming uses it before file and pos (it survives a
   * failover). Absent where the server has no GTIDs.
   */
  gtid: z.string().optional(),
});
export type BinlogPoint = z.infer<typeof pointSchema>;

const rangeSchema = z.object({
  /** db.table */
  table: z.string(),
  /** Rows with a key after this one (null: from the start)... */
  after: z.array(z.unknown()).nullable(),
  /** ...up to and including this one (null: to the end) were read in a snapshot taken at `at`. */
  upTo: z.array(z.unknown()).nullable(),
  at: pointSchema,
});
export type SnapshotRange = z.infer<typeof rangeSchema>;

const offsetSchema = pointSchema.extend({
  /** @@server_id of the server the position belongs to (file and pos mean nothing elsewhere). */
  serverId: z.number().int().nonnegative(),
  /** MySQL's @@server_uuid, when the server has one. */
  serverUuid: z.string().optional(),
  /** Present while the initial snapshot is unfinished. */
  snapshot: z
    .object({
      table: z.string(),
      after: z.array(z.unknown()).nullable(),
      ordinal: z.number().int().nonnegative(),
      position: z.string(),
    })
    .optional(),
  /**
   * Present after a resumed snapshot: these key ranges were read at a later point than this
   * offset, so changes to them committed before that point are already in the snapshot.
   */
  resumed: z.array(rangeSchema).optional(),
});

export type MysqlOffset = z.infer<typeof offsetSchema>;

/** The sequence number of a binlog file name (`binlog.000042` → 42); -1 when it has none. */
export function fileIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m ? Number(m[1]) : -1;
}

/** Orders two positions of one server's binlog. */
export function comparePoints(a: BinlogPoint, b: BinlogPoint): number {
  const f = fileIndex(a.file) - fileIndex(b.file);
  if (f !== 0) return f;
  return a.pos - b.pos;
}

export const mysqlOffsetCodec: OffsetCodec<MysqlOffset> = {
  serialize: (o) => JSON.stringify(o),
  parse: (text) => parseJsonOffset(text, offsetSchema, 'MySQL'),
  compare(a, b) {
    const c = comparePoints(a, b);
    if (c !== 0) return c;
    // At one position, an unfinished snapshot comes before a finished one.
    if (a.snapshot && !b.snapshot) return -1;
    if (!a.snapshot && b.snapshot) return 1;
    if (a.snapshot && b.snapshot) return a.snapshot.ordinal - b.snapshot.ordinal;
    return 0;
  },
  describe(o) {
    const at = `${o.file}:${o.pos}${o.gtid !== undefined ? ` (gtid ${o.gtid || 'none'})` : ''}`;
    if (o.snapshot)
      return `snapshot of ${o.snapshot.table} (${o.snapshot.ordinal} rows read), then from ${at}`;
    return o.resumed ? `${at} (skipping changes already read by a resumed snapshot)` : at;
  },
};

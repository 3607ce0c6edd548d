// PostgreSQL offsets: an LSN plus, while a snapshot is unfinished or just resumed, its progress.
import { z } from 'zod';
import { BridgeError } from '../../src/core/errors.js';
import { parseJsonOffset, type OffsetCodec } from '../../src/core/offset.js';

/** An LSN as PostgreSQL prints it (`16/B374D848`). Compare with compareLsn, never as strings. */
export type Lsn = string;

export function lsnToBigInt(lsn: Lsn): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new BridgeError(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function bigIntToLsn(v: bigint): Lsn {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function compareLsn(a: Lsn, b: Lsn): number {
  const x = lsnToBigInt(a);
  const y = lsnToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const lsnSchema = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i);

const rangeSchema = z.object({
  /** schema.table */
  table: z.string(),
  /** Rows with a key after this one (null: from the start)... */
  after: z.array(z.unknown()).nullable(),
  /** ...up to and including this one (null: to the end) were read in a snapshot taken at `at`. */
  upTo: z.array(z.unknown()).nullable(),
  at: lsnSchema,
});

const offsetSchema = z.object({
  /** Streaming resumes after the transaction that ends here (the slot's consistent point at first). */
  lsn: lsnSchema,
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
   * Present after a resumed snapshot: these key ranges were read at an LSN later than `lsn`, so
   * changes to them committed before that LSN are already in the snapshot and are not sent again
   * (a key change is judged for its old and its new key separately: PgReplicationStream#notYetRead).
   */
  resumed: z.array(rangeSchema).optional(),
  /** Present while an online re-snapshot runs (postgres-resnapshot.ts): the tables left and the last key read. */
  resnap: z
    .object({
      id: z.string(),
      tables: z.array(z.string()),
      after: z.array(z.unknown()).nullable(),
      rows: z.number().int().nonnegative(),
    })
    .optional(),
});

export type PgOffset = z.infer<typeof offsetSchema>;
export type SnapshotRange = z.infer<typeof rangeSchema>;

export const pgOffsetCodec: OffsetCodec<PgOffset> = {
  serialize: (o) => JSON.stringify(o),
  parse: (text) => parseJsonOffset(text, offsetSchema, 'PostgreSQL'),
  compare(a, b) {
    const c = compareLsn(a.lsn, b.lsn);
    if (c !== 0) return c;
    // At one LSN, an unfinished snapshot comes before a finished one.
    if (a.snapshot && !b.snapshot) return -1;
    if (!a.snapshot && b.snapshot) return 1;
    if (a.snapshot && b.snapshot) return a.snapshot.ordinal - b.snapshot.ordinal;
    return 0;
  },
  describe(o) {
    if (o.snapshot)
      return `snapshot of ${o.snapshot.table} (${o.snapshot.ordinal} rows read), then from ${o.lsn}`;
    const at = o.resumed ? `${o.lsn} (skipping changes already read by a resumed snapshot)` : o.lsn;
    return o.resnap
      ? `${at}, re-snapshot ${o.resnap.id} at ${o.resnap.tables[0] ?? 'its end'} (${o.resnap.rows} rows read)`
      : at;
  },
};

// Oracle offsets: SCNs as decimal strings (they pass 2^53), compared as BigInts. Two parts:
// where mining restarts (`scn`, the low watermark: the first SCN of the oldest transaction not yet
// published, so a restart reads every row of it again) and which committed transactions are
// already published (`commitScn` plus, at that commit SCN, the last one in (thread, txId) order).
import { z } from 'zod';
import { BridgeError } from '../../src/core/errors.js';
import { parseJsonOffset, type OffsetCodec } from '../../src/core/offset.js';

const scn = z.string().regex(/^\d+$/, 'an SCN in decimal');

const offsetSchema = z.object({
  /** Mining restarts at this SCN (inclusive). */
  scn,
  /** Every transaction that committed below this SCN is published (or in the snapshot). */
  commitScn: scn,
  /**
   * At `commitScn` itself: the transactions ordered at or before this (redo thread, txId) are
   * published. Absent: all of them are (the snapshot's SCN, where everything committed at or
   * below it is in the snapshot).
   */
  last: z.object({ thread: z.number().int().nonnegative(), txId: z.string() }).optional(),
  /** Present while the initial snapshot is unfinished: reads go on AS OF this SCN. */
  snapshot: z
    .object({
      at: scn,
      table: z.string(),
      after: z.array(z.unknown()).nullable(),
      chunk: z.number().int().nonnegative(),
    })
    .optional(),
});

export type OracleOffset = z.infer<typeof offsetSchema>;

/** Where a committed transaction sits in the stream's total order. */
export interface CommitKey {
  readonly commitScn: string;
  readonly thread: number;
  readonly txId: string;
}

export function compareScn(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The order transactions are published in: commit SCN, then redo thread, then transaction id.
 * On RAC two threads can commit at one SCN; thread and txId make the order total and the same on
 * every read of the same redo, so a restart skips exactly what was published.
 */
export function compareCommits(a: CommitKey, b: CommitKey): number {
  return (
    compareScn(a.commitScn, b.commitScn) ||
    a.thread - b.thread ||
    (a.txId < b.txId ? -1 : a.txId > b.txId ? 1 : 0)
  );
}

/** True when the transaction is already published according to `o`. */
export function isPublished(o: OracleOffset, k: CommitKey): boolean {
  const c = compareScn(k.commitScn, o.commitScn);
  if (c !== 0) return c < 0;
  if (!o.last) return true;
  return compareCommits(k, { commitScn: o.commitScn, ...o.last }) <= 0;
}

export function minScn(...scns: string[]): string {
  if (scns.length === 0) throw new BridgeError('minScn of nothing');
  return scns.reduce((a, b) => (compareScn(a, b) <= 0 ? a : b));
}

export const oracleOffsetCodec: OffsetCodec<OracleOffset> = {
  serialize: (o) => JSON.stringify(o),
  parse: (text) => parseJsonOffset(text, offsetSchema, 'Oracle'),
  compare(a, b) {
    const c = compareScn(a.commitScn, b.commitScn);
    if (c !== 0) return c;
    if (a.snapshot && !b.snapshot) return -1;
    if (!a.snapshot && b.snapshot) return 1;
    if (a.snapshot && b.snapshot) return a.snapshot.chunk - b.snapshot.chunk;
    // No `last` means every transaction at commitScn: after any single one of them.
    if (!a.last || !b.last) return (a.last ? 0 : 1) - (b.last ? 0 : 1);
    return compareCommits({ commitScn: a.commitScn, ...a.last }, { commitScn: b.commitScn, ...b.last });
  },
  describe(o) {
    if (o.snapshot)
      return `snapshot AS OF SCN ${o.snapshot.at} (${o.snapshot.table}, ${o.snapshot.chunk} chunks read), then from SCN ${o.scn}`;
    const at = o.last ? ` (thread ${o.last.thread}, tx ${o.last.txId})` : '';
    return `committed through SCN ${o.commitScn}${at}, mining from SCN ${o.scn}`;
  },
};

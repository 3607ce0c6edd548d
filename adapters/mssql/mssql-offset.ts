// SQL Server offsets. CDC: the commit LSN of a change, its sequence value and its operation, each
// binary LSN kept as 20 lowercase hex digits (equal-length lowercase hex orders like the bytes, but
// compareLsn compares the bytes anyway). Change Tracking: the CHANGE_TRACKING version, a bigint
// kept as a decimal string.
import { z } from 'zod';
import { BridgeError } from '../../src/core/errors.js';
import { parseJsonOffset, type OffsetCodec } from '../../src/core/offset.js';

/** An LSN or seqval, binary(10), as 20 lowercase hex digits. */
export type LsnHex = string;

const hex20 = z
  .string()
  .regex(/^[0-9a-fA-F]{20}$/, 'expected a binary(10) LSN as 20 hex digits')
  .transform((s) => s.toLowerCase());

/** The largest seqval: an offset at (lsn, MAX_SEQVAL, 4) lies after every change of that commit. */
export const MAX_SEQVAL: LsnHex = 'ffffffffffffffffffff';
export const ZERO_LSN: LsnHex = '00000000000000000000';

/** A binary(10) value from the driver (a Buffer) as hex; throws on anything else. */
export function lsnHex(value: unknown): LsnHex {
  if (Buffer.isBuffer(value) && value.length === 10) return value.toString('hex');
  if (typeof value === 'string' && /^(0x)?[0-9a-fA-F]{20}$/.test(value))
    return value.replace(/^0x/, '').toLowerCase();
  throw new BridgeError(`not a binary(10) LSN: ${String(value)}`);
}

/** Unsigned byte order of two LSNs (LSNs are big-endian byte strings). */
export function compareLsn(a: LsnHex, b: LsnHex): number {
  return Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Debezium's text form, `00000025:00000d98:00a2` (virtual log file : block : slot). */
export function lsnText(lsn: LsnHex): string {
  return `${lsn.slice(0, 8)}:${lsn.slice(8, 16)}:${lsn.slice(16)}`;
}

/** The T-SQL literal of an LSN (safe to inline: lsnHex/the schema admit hex digits only). */
export function lsnLiteral(lsn: LsnHex): string {
  if (!/^[0-9a-f]{20}$/.test(lsn)) throw new BridgeError(`not an LSN: ${lsn}`);
  return `0x${lsn}`;
}

const cdcSchema = z.object({
  mode: z.literal('cdc'),
  /** Commit LSN (__$start_lsn) of the last change published. */
  lsn: hex20,
  /** __$seqval of that change (MAX_SEQVAL: the whole commit is published). */
  seqval: hex20,
  /** __$operation: 1 delete, 2 insert, 3 update before, 4 update after. */
  op: z.number().int().min(0).max(4),
});

const ctSchema = z.object({
  mode: z.literal('changeTracking'),
  /** Every change with SYS_CHANGE_VERSION <= version is published. */
  version: z.string().regex(/^\d+$/),
});

const offsetSchema = z.discriminatedUnion('mode', [cdcSchema, ctSchema]);

export type CdcOffset = z.infer<typeof cdcSchema>;
export type CtOffset = z.infer<typeof ctSchema>;
export type MssqlOffset = z.infer<typeof offsetSchema>;

/** (commit LSN, seqval, operation), the order SQL Server's change tables are merged in. */
export function compareCdc(
  a: Pick<CdcOffset, 'lsn' | 'seqval' | 'op'>,
  b: Pick<CdcOffset, 'lsn' | 'seqval' | 'op'>,
): number {
  return compareLsn(a.lsn, b.lsn) || compareLsn(a.seqval, b.seqval) || a.op - b.op;
}

function compareVersion(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const mssqlOffsetCodec: OffsetCodec<MssqlOffset> = {
  serialize: (o) => JSON.stringify(o),
  parse: (text) => parseJsonOffset(text, offsetSchema, 'SQL Server'),
  compare(a, b) {
    if (a.mode === 'cdc' && b.mode === 'cdc') return compareCdc(a, b);
    if (a.mode === 'changeTracking' && b.mode === 'changeTracking')
      return compareVersion(a.version, b.version);
    throw new BridgeError(`a ${a.mode} offset and a ${b.mode} offset cannot be compared`);
  },
  describe(o) {
    switch (o.mode) {
      case 'cdc':
        return o.seqval === MAX_SEQVAL
          ? `after commit ${lsnText(o.lsn)}`
          : `${lsnText(o.lsn)} seqval ${lsnText(o.seqval)} op ${o.op}`;
      case 'changeTracking':
        return `change tracking version ${o.version}`;
      default: {
        const never: never = o;
        return String(never);
      }
    }
  },
};

// pgoutput messages as the stream reads them. The row messages (insert, update, delete) and the
// transaction bounds are read here from the bytes, straight into positional arrays of PostgreSQL's
// text values: the library's parser builds a dictionary-mode object per tuple, a TextDecoder call
// and a type-parser call per value, and BigInt arithmetic per transaction, which showed in profiles
// of a backlog drain. Everything else (relations, types, origins, logical messages, truncates) goes
// through the library's parser. Formats: PostgreSQL "Logical Replication Message Formats", v1.
import lr from 'pg-logical-replication';
import type { Pgoutput } from 'pg-logical-replication';
import { BridgeError } from '../../src/core/errors.js';

const { PgoutputPlugin } = lr;

/**
 * One tuple's values by column position: PostgreSQL's text, `null` for SQL NULL, `undefined` for
 * an unchanged TOASTed value the message does not carry (and, in a key tuple, for non-key columns).
 */
export type TupleValues = (string | null | undefined)[];

export interface RowMessage {
  readonly tag: 'insert' | 'update' | 'delete';
  readonly relationOid: number;
  /** The old key (REPLICA IDENTITY DEFAULT/INDEX, when the key changed or on delete). */
  readonly key: TupleValues | null;
  /** The old row (REPLICA IDENTITY FULL). */
  readonly old: TupleValues | null;
  readonly new: TupleValues | null;
}

export interface BeginMessage {
  readonly tag: 'begin';
  /** The commit's LSN, printed as PostgreSQL does (`16/B374D848`, no padding); null when 0/0. */
  readonly commitLsn: string | null;
  /** Commit time, ms since the Unix epoch. */
  readonly commitMs: number;
  readonly xid: number;
}

export interface CommitMessage {
  readonly tag: 'commit';
  /** The end of the commit record: where streaming resumes after this transaction; null when 0/0. */
  readonly commitEndLsn: string | null;
}

export type PgMessage =
  | RowMessage
  | BeginMessage
  | CommitMessage
  | Exclude<Pgoutput.Message, { tag: 'insert' | 'update' | 'delete' | 'begin' | 'commit' }>;

const rawText = (v: unknown) => v;

/** µs between 1970-01-01 and 2000-01-01, PostgreSQL's epoch, in ms. */
const PG_EPOCH_MS = 946_684_800_000;

/** `hi/lo` in upper-case hex without padding, as PostgreSQL (and bigIntToLsn) prints an LSN; null for 0/0. */
function lsnAt(b: Buffer, p: number): string | null {
  const hi = b.readUInt32BE(p);
  const lo = b.readUInt32BE(p + 4);
  if (hi === 0 && lo === 0) return null;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** pgoutput parser with pg-types off and lean row messages (see the file header). */
export class RawPgoutputPlugin extends PgoutputPlugin {
  /** Per relation OID, which columns are part of the replica identity (flag bit 1). */
  readonly #keyMasks = new Map<number, boolean[]>();

  /** With `originNone`, START_REPLICATION asks for `origin 'none'` (PostgreSQL >= 16). */
  constructor(
    options: ConstructorParameters<typeof PgoutputPlugin>[0],
    private readonly originNone = false,
  ) {
    super(options);
  }

  override start(
    client: Parameters<InstanceType<typeof PgoutputPlugin>['start']>[0],
    slotName: string,
    lastLsn: string,
  ) {
    if (!this.originNone) return super.start(client, slotName, lastLsn);
    // The library's start() with the one option it does not know; the same statement otherwise.
    const o = this.options as { protoVersion: number; publicationNames: string[]; messages?: boolean };
    return client.query(
      `START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} (proto_version '${o.protoVersion}', ` +
        `publication_names '${o.publicationNames.join(',')}', messages '${o.messages ?? false}', origin 'none')`,
    );
  }

  override parse(buffer: Buffer): Pgoutput.Message {
    return this.parseMessage(buffer) as unknown as Pgoutput.Message;
  }

  parseMessage(b: Buffer): PgMessage {
    switch (b[0]) {
      case 0x49 /* I */:
      case 0x55 /* U */:
      case 0x44 /* D */:
        return this.#row(b);
      case 0x42 /* B */: {
        const us = b.readUInt32BE(9) * 2 ** 32 + b.readUInt32BE(13);
        return {
          tag: 'begin',
          commitLsn: lsnAt(b, 1),
          commitMs: Math.floor(us / 1000) + PG_EPOCH_MS,
          xid: b.readInt32BE(17),
        };
      }
      case 0x43 /* C */:
        return { tag: 'commit', commitEndLsn: lsnAt(b, 10) };
      default: {
        const msg = super.parse(b) as PgMessage;
        if (msg.tag === 'relation') {
          for (const c of msg.columns) c.parser = rawText;
          this.#keyMasks.set(
            msg.relationOid,
            msg.columns.map((c) => (c.flags & 1) === 1),
          );
        }
        return msg;
      }
    }
  }

  #row(b: Buffer): RowMessage {
    const tag = b[0] === 0x49 ? 'insert' : b[0] === 0x55 ? 'update' : 'delete';
    const relationOid = b.readInt32BE(1);
    const r = new TupleReader(b, 5);
    let key: TupleValues | null = null;
    let old: TupleValues | null = null;
    let next: TupleValues | null = null;
    let kind = r.byte();
    if (kind === 0x4b /* K */) {
      key = r.tuple(null);
      const mask = this.#keyMasks.get(relationOid);
      if (!mask)
        throw new BridgeError(`pgoutput ${tag} of relation ${relationOid} before its Relation message`);
      // Non-key columns of a key tuple are sent as NULL placeholders (a key column is never NULL).
      for (let i = 0; i < key.length; i++) if (!mask[i] || key[i] === null) key[i] = undefined;
      if (tag === 'update') kind = r.byte();
    } else if (kind === 0x4f /* O */) {
      old = r.tuple(null);
      if (tag === 'update') kind = r.byte();
    }
    if (tag !== 'delete') {
      if (kind !== 0x4e /* N */)
        throw new BridgeError(`unexpected pgoutput ${tag} tuple ${String.fromCharCode(kind)}`);
      next = r.tuple(old);
    } else if (key === null && old === null) {
      throw new BridgeError(`unexpected pgoutput delete tuple ${String.fromCharCode(kind)}`);
    }
    return { tag, relationOid, key, old, new: next };
  }
}

class TupleReader {
  constructor(
    readonly b: Buffer,
    public p: number,
  ) {}

  byte(): number {
    if (this.p >= this.b.length) throw new BridgeError('pgoutput message ends early');
    return this.b[this.p++]!;
  }

  /** One TupleData; an unchanged TOASTed value takes the old tuple's, when there is one. */
  tuple(fallback: TupleValues | null): TupleValues {
    const b = this.b;
    const n = b.readInt16BE(this.p);
    this.p += 2;
    const out: TupleValues = new Array<string | null | undefined>(n);
    for (let i = 0; i < n; i++) {
      const kind = this.byte();
      if (kind === 0x74 /* t */) {
        const len = b.readInt32BE(this.p);
        const start = this.p + 4;
        this.p = start + len;
        if (this.p > b.length) throw new BridgeError('pgoutput message ends early');
        out[i] = b.toString('utf8', start, this.p);
      } else if (kind === 0x6e /* n */) out[i] = null;
      else if (kind === 0x75 /* u */) out[i] = fallback ? fallback[i] : undefined;
      else
        throw new BridgeError(
          `unexpected pgoutput value kind ${String.fromCharCode(kind)} (binary is not asked for)`,
        );
    }
    return out;
  }
}

// Streams pgoutput changes from the slot through pg-logical-replication, with every automatic
// acknowledgement off: the slot moves only when acknowledge() is called with an offset that the
// pipeline has published and committed (README "Guarantees").
//
// Traps handled here (README.md beside this file): auto-ack off and the periodic status timer
// off (timeoutSeconds 0); keepalives that ask for a reply get our last *acknowledged* LSN; a new
// service instance per connection, started from the committed offset; the library's acknowledge()
// adds one to the LSN, so we pass LSN - 1 to report exactly the commit end; type parsers off so
// values keep every digit.
import lr from 'pg-logical-replication';
import type { Pgoutput } from 'pg-logical-replication';
import type pg from 'pg';
import type { SourceChange } from '../../src/core/change-event.js';
import { BridgeError, OffsetLostError } from '../../src/core/errors.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { slotInfo } from './postgres-catalog.js';
import { classifyPgError, PostgresError } from './postgres-errors.js';
import {
  bigIntToLsn,
  compareLsn,
  lsnToBigInt,
  type PgOffset,
  type SnapshotRange,
} from './postgres-offset.js';
import { replicationSocket, type PausableSocket } from './postgres-replication-internals.js';
import type { PgSession } from './postgres-session.js';
import type { Decoder } from './postgres-types.js';

const { LogicalReplicationService, PgoutputPlugin } = lr;

export const HEARTBEAT_PREFIX = 'sluice-heartbeat';

const rawText = (v: unknown) => v;

/** pgoutput parser with pg-types off: every text value stays as PostgreSQL printed it. */
class RawPgoutputPlugin extends PgoutputPlugin {
  /** With `originNone`, START_REPLICATION asks for `origin 'none'` (PostgreSQL >= 16). */
  constructor(
    options: ConstructorParameters<typeof PgoutputPlugin>[0],
    private readonly originNone: boolean,
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
    const msg = super.parse(buffer);
    if (msg.tag === 'relation') for (const c of msg.columns) c.parser = rawText;
    return msg;
  }
}

interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
  readonly columns: readonly { name: string; decode: Decoder }[];
  readonly replicaKey: readonly string[];
  readonly captured: boolean;
}

interface Txn {
  readonly xid: number;
  readonly xidText: string;
  readonly position: string;
  readonly commitLsn: string;
  readonly commitMs: number;
  index: number;
  readonly perTable: Map<string, number>;
  pending: SourceChange[];
  /** The Sluice sink that wrote this transaction (its replication origin), if one did. */
  origin?: string;
}

/** The server's version as a number (160002 for 16.2). */
async function serverVersionNum(admin: { query(sql: string): Promise<{ rows: Record<string, unknown>[] }> }) {
  const r = await admin.query('SHOW server_version_num');
  return Number(r.rows[0]?.server_version_num);
}

/** The replication origin a Sluice sink marks its writes with (src/sql/postgres/postgres-dialect.ts). */
const SINK_ORIGIN = /^sluice_sink_(.+)$/;

type Item = { lsn: string; msg: Pgoutput.Message } | { lsn: string; msg: { tag: 'keepalive' } };

/** Messages queued before the replication socket is paused, and the level at which it resumes. */
const HIGH_WATER = 8192;
const LOW_WATER = 2048;

const normalize = (lsn: string): string => bigIntToLsn(lsnToBigInt(lsn));

export class PgReplicationStream {
  #service: InstanceType<typeof LogicalReplicationService> | null = null;
  #acked: string;
  #relations = new Map<number, Relation>();
  #admin: pg.Client | null = null;

  constructor(
    readonly s: PgSession,
    readonly captured: ReadonlySet<string>,
    from: string,
  ) {
    this.#acked = from;
  }

  /** Reports `lsn` to the server as flushed: the slot may drop WAL before it. */
  async acknowledge(lsn: string): Promise<void> {
    if (compareLsn(lsn, this.#acked) <= 0) return;
    this.#acked = lsn;
    await this.#sendStatus();
  }

  async #sendStatus(): Promise<void> {
    const v = lsnToBigInt(this.#acked);
    // The library reports lsn + 1; we want exactly the commit end.
    await this.#service?.acknowledge(bigIntToLsn(v > 0n ? v - 1n : 0n));
  }

  async close(): Promise<void> {
    const svc = this.#service;
    this.#service = null;
    await svc?.destroy().catch(() => {});
    await this.#admin?.end().catch(() => {});
    this.#admin = null;
  }

  async *run(ctx: SourceContext, from: PgOffset): AsyncGenerator<ChangeBatch<PgOffset>> {
    const s = this.s;
    this.#admin = await s.connect();
    const admin = this.#admin;
    await this.#waitForSlot(admin, from, ctx);

    const queue = new AsyncQueue<Item>(HIGH_WATER * 2);
    // The library's flow control awaits an async emit per message; instead, messages go into our
    // queue synchronously as they are parsed, and the socket is paused while the queue is above
    // HIGH_WATER (resumed below LOW_WATER). Backpressure without per-message promises.
    const service = new LogicalReplicationService(s.clientConfig(false), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: false },
    });
    this.#service = service;
    // Looked up at the first pause: a library that moved the socket fails the stream with
    // ReplicationInternalsError there instead of letting the queue grow. (Not on the library's
    // 'start' event: a listener there kept an aborted stream from ending in the contract suite.)
    let socket: PausableSocket | null = null;
    const flow = (pause: boolean): void => {
      try {
        socket ??= replicationSocket(service);
        if (pause) socket.pause();
        else socket.resume();
      } catch (err) {
        queue.fail(err);
      }
    };
    let paused = false;
    service.on('data', (lsn: string, msg: Pgoutput.Message) => {
      queue.pushNow({ lsn, msg });
      if (!paused && queue.size >= HIGH_WATER) {
        paused = true;
        flow(true);
      }
    });
    queue.onDrain(LOW_WATER, () => {
      if (paused) {
        paused = false;
        flow(false);
      }
    });
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      // Everything committed before a keepalive's WAL end was sent to us ahead of it, and is
      // already in our queue (data is queued synchronously as it arrives). So the keepalive,
      // queued behind it, is a resumable point: the slot can advance past WAL with nothing to
      // decode, and a shutting-down server sees its last WAL confirmed instead of waiting for
      // wal_sender_timeout.
      queue.pushNow({ lsn, msg: { tag: 'keepalive' } });
      if (shouldRespond) this.#sendStatus().catch(() => {});
    });
    service.on('error', (err: unknown) => queue.fail(classifyPgError(err, 'replication connection failed')));
    // sinkWrites: drop — filtered in the server where it can (PostgreSQL >= 16), else below.
    const dropSinkWrites = s.cfg.sinkWrites === 'drop';
    const plugin = new RawPgoutputPlugin(
      { protoVersion: 1, publicationNames: [s.publication], messages: true },
      dropSinkWrites && (await serverVersionNum(admin)) >= 160_000,
    );
    service.subscribe(plugin, s.slot, from.lsn).then(
      () =>
        queue.fail(
          classifyPgError(new Error('Connection terminated: the replication stream ended'), 'replication'),
        ),
      (err: unknown) => queue.fail(classifyPgError(err, 'replication failed')),
    );
    const onAbort = () => queue.end();
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    let resumed: SnapshotRange[] | undefined = from.resumed;
    let txn: Txn | null = null;
    let lastOffsetLsn = from.lsn;
    // Committed transactions not yet handed over. While more messages are already queued, the
    // next transaction is read first, so a backlog of small transactions goes out in batches
    // (one socket write for many events instead of one each); when the queue runs dry, what is
    // ready goes at once, so this adds no latency.
    let ready: SourceChange[] = [];
    let readyOffset: PgOffset | null = null;
    const takeReady = (): ChangeBatch<PgOffset> => {
      const batch = { changes: ready, offset: readyOffset };
      ready = [];
      readyOffset = null;
      return batch;
    };
    try {
      for await (const { lsn, msg } of queue) {
        switch (msg.tag) {
          case 'begin': {
            const commitLsn = normalize(msg.commitLsn ?? lsn);
            txn = {
              xid: msg.xid,
              xidText: String(msg.xid),
              position: commitLsn,
              commitLsn,
              commitMs: Number(BigInt(msg.commitTime as bigint) / 1000n),
              index: 0,
              perTable: new Map(),
              pending: [],
            };
            break;
          }
          case 'relation':
            await this.#onRelation(admin, msg);
            break;
          case 'insert':
          case 'update':
          case 'delete':
          case 'truncate': {
            if (!txn) throw new BridgeError(`pgoutput ${msg.tag} outside a transaction at ${lsn}`);
            if (dropSinkWrites && txn.origin !== undefined) break; // a sink's write, never published
            // The library prints XLogData LSNs the way PostgreSQL does (no padding): no normalize.
            const changes = this.#toChanges(txn, lsn, msg);
            for (const c of changes) {
              const unread = resumed ? await this.#notYetRead(admin, resumed, txn.commitLsn, c) : c;
              if (unread) txn.pending.push(unread);
            }
            if (txn.pending.length >= s.cfg.maxBatchRows) {
              if (readyOffset) yield takeReady();
              yield { changes: txn.pending, offset: null };
              txn.pending = [];
            }
            break;
          }
          case 'commit': {
            if (!txn) break;
            const end = normalize(msg.commitEndLsn ?? lsn);
            if (resumed && resumed.every((r) => compareLsn(txn!.commitLsn, r.at) >= 0)) resumed = undefined;
            lastOffsetLsn = end;
            if (ready.length === 0) ready = txn.pending;
            else for (const c of txn.pending) ready.push(c);
            readyOffset = resumed ? { lsn: end, resumed } : { lsn: end };
            txn = null;
            break;
          }
          case 'keepalive': {
            const at = normalize(lsn);
            if (!txn && compareLsn(at, lastOffsetLsn) > 0) {
              lastOffsetLsn = at;
              readyOffset = resumed ? { lsn: at, resumed } : { lsn: at };
            }
            break;
          }
          case 'message': {
            // A heartbeat outside any transaction: a resumable point with nothing to publish, so a
            // quiet captured database lets its slot advance on a busy server.
            if (!msg.transactional && !txn && msg.prefix === HEARTBEAT_PREFIX && msg.messageLsn) {
              const at = normalize(msg.messageLsn);
              if (compareLsn(at, lastOffsetLsn) > 0) {
                lastOffsetLsn = at;
                readyOffset = resumed ? { lsn: at, resumed } : { lsn: at };
              }
            }
            break;
          }
          case 'origin': {
            // Sent after BEGIN when the transaction was written under a replication origin: a
            // Sluice sink's writes are tagged with its name, so two-way sync drops its own echo.
            const sink = SINK_ORIGIN.exec(msg.originName)?.[1];
            if (txn && sink !== undefined) txn.origin = sink;
            break;
          }
          case 'type':
            break;
          default: {
            const never: never = msg;
            throw new BridgeError(`unexpected pgoutput message ${JSON.stringify(never)}`);
          }
        }
        if (readyOffset && (queue.size === 0 || ready.length >= s.cfg.maxBatchRows)) yield takeReady();
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  async #waitForSlot(admin: pg.Client, from: PgOffset, ctx: SourceContext): Promise<void> {
    const s = this.s;
    const deadline = Date.now() + s.cfg.slotBusyTimeout;
    let delay = 250;
    while (true) {
      const slot = await slotInfo(admin, s.slot);
      if (!slot)
        throw new OffsetLostError(
          `replication slot ${s.slot} does not exist, so changes after ${from.lsn} cannot be read; reset the offset of source ${s.cfg.name} to snapshot again`,
        );
      if (slot.confirmedFlushLsn && compareLsn(slot.confirmedFlushLsn, from.lsn) > 0)
        throw new OffsetLostError(
          `replication slot ${s.slot} was advanced to ${slot.confirmedFlushLsn} past the committed offset ${from.lsn} by something other than this source; changes in between are lost`,
        );
      if (slot.walStatus === 'lost')
        throw new OffsetLostError(`replication slot ${s.slot} has lost WAL it needs (wal_status = lost)`);
      if (!slot.active) return;
      if (Date.now() > deadline)
        throw new PostgresError(
          `replication slot ${s.slot} is still active for PID ${slot.activePid} after ${s.cfg.slotBusyTimeout} ms; is another sluice running for source ${s.cfg.name}?`,
          '55006',
        );
      ctx.log.warn(
        { slot: s.slot, pid: slot.activePid },
        'replication slot is active for another connection; waiting',
      );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
      if (ctx.signal.aborted) return;
    }
  }

  async #onRelation(admin: pg.Client, msg: Pgoutput.MessageRelation): Promise<void> {
    const s = this.s;
    const qualified = `${msg.schema}.${msg.name}`;
    const captured = this.captured.has(qualified);
    await s.learnTypes(
      admin,
      msg.columns.map((c) => c.typeOid),
    );
    if (captured) {
      const known = s.tables.get(qualified);
      // A new Relation message after DDL: reload the key (and columns) from the catalog.
      if (!known || known.columns.length !== msg.columns.length) await s.loadTable(admin, qualified);
    }
    this.#relations.set(msg.relationOid, {
      schema: msg.schema,
      name: msg.name,
      qualified,
      columns: msg.columns.map((c) => ({ name: c.name, decode: s.types.decoder(c.typeOid) })),
      replicaKey: msg.keyColumns,
      captured,
    });
  }

  #decode(
    rel: Relation,
    tuple: Record<string, unknown> | null,
    unavailable?: string[],
  ): Record<string, unknown> | null {
    if (!tuple) return null;
    const row: Record<string, unknown> = {};
    for (const c of rel.columns) {
      const v = tuple[c.name];
      if (v === undefined) {
        unavailable?.push(c.name);
        continue;
      }
      row[c.name] = v === null ? null : c.decode(v as string);
    }
    return row;
  }

  #make(
    txn: Txn,
    lsn: string,
    rel: Relation,
    op: 'c' | 'u' | 'd' | 't',
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    unavailable?: string[],
  ): SourceChange {
    const s = this.s;
    const n = (txn.perTable.get(rel.qualified) ?? 0) + 1;
    txn.perTable.set(rel.qualified, n);
    const idx = txn.index++;
    const keySource = op === 'd' ? before : after;
    return s.change({
      op,
      schema: rel.schema,
      table: rel.name,
      before,
      after,
      key: keySource ? s.keyOf(s.tables.get(rel.qualified), keySource, rel.replicaKey) : {},
      tsMs: txn.commitMs,
      snapshot: 'false',
      lsn,
      txId: txn.xid,
      unavailable,
      transaction: { id: txn.xidText, total_order: idx + 1, data_collection_order: n },
      position: txn.position,
      index: idx,
      origin: txn.origin,
    });
  }

  #toChanges(
    txn: Txn,
    lsn: string,
    msg: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete | Pgoutput.MessageTruncate,
  ): SourceChange[] {
    // No closures here: this runs once per change (and tsx wraps each closure it creates).
    const rels = this.#relations;
    switch (msg.tag) {
      case 'insert': {
        const rel = rels.get(msg.relation.relationOid);
        return rel?.captured ? [this.#make(txn, lsn, rel, 'c', null, this.#decode(rel, msg.new))] : [];
      }
      case 'update': {
        const rel = rels.get(msg.relation.relationOid);
        if (!rel?.captured) return [];
        const unavailable: string[] = [];
        const after = this.#decode(rel, msg.new, unavailable);
        const before = msg.old
          ? this.#decode(rel, msg.old)
          : msg.key
            ? this.#decode(rel, onlyDefined(msg.key))
            : null;
        return [this.#make(txn, lsn, rel, 'u', before, after, unavailable)];
      }
      case 'delete': {
        const rel = rels.get(msg.relation.relationOid);
        if (!rel?.captured) return [];
        const before = msg.old ? this.#decode(rel, msg.old) : this.#decode(rel, onlyDefined(msg.key ?? {}));
        return [this.#make(txn, lsn, rel, 'd', before, null)];
      }
      case 'truncate':
        return msg.relations.flatMap((r) => {
          const rel = rels.get(r.relationOid);
          return rel?.captured ? [this.#make(txn, lsn, rel, 't', null, null)] : [];
        });
    }
  }

  /**
   * The part of `c` that no resumed snapshot already holds: `c` itself, nothing, or (for a key
   * change) only its delete or only its insert.
   *
   * Why this is exact: the consumer's copy of a key k is the row read for k at the snapshot S(k)
   * whose range covers k (the slot's own snapshot at `lsn`, or a resumed range's `at`), and then
   * every change to k committed after S(k). So a change's effect on k is sent iff its commit is not
   * before S(k). An update that moves a row from key `old` to key `new` affects two keys: it
   * removes `old` and sets `new`, and the two may lie in ranges read at different snapshots. Judged
   * by the new key alone (as before), a row moved from a range read at `lsn` into a range read
   * later lost its delete, and the row stayed in the stream forever; a row moved the other way
   * arrived as an update of a key the consumer never held, which could also delete a different
   * row that took the old key before the later snapshot. Per key: both halves read, nothing; none
   * read, the update; only the new key read, a delete of the old key (the new row is in the
   * snapshot); only the old key read, an insert of the new key (the old one was never published,
   * or was published as a different row the update must not touch).
   */
  async #notYetRead(
    admin: pg.Client,
    ranges: readonly SnapshotRange[],
    commitLsn: string,
    c: SourceChange,
  ): Promise<SourceChange | null> {
    const src = c.event.source;
    const qualified = `${src.schema}.${src.table}`;
    const candidates = ranges.filter((r) => r.table === qualified && compareLsn(commitLsn, r.at) < 0);
    if (candidates.length === 0) return c;
    if (candidates.some((r) => r.after === null && r.upTo === null)) return null;
    const t = this.s.tables.get(qualified);
    if (!t || t.key.length === 0) return null;
    const key = t.key.map((k) => toText(c.key[k]));
    const read = await this.#inRanges(admin, candidates, t, key);
    const before = c.event.op === 'u' ? c.event.before : null;
    const oldKey =
      before && t.key.every((k) => before[k] !== undefined) ? t.key.map((k) => toText(before[k])) : null;
    if (!before || !oldKey || JSON.stringify(oldKey) === JSON.stringify(key)) return read ? null : c;
    const oldRead = await this.#inRanges(admin, candidates, t, oldKey);
    if (read === oldRead) return read ? null : c;
    if (read) return { ...c, key: this.s.keyOf(t, before, []), event: { ...c.event, op: 'd', after: null } };
    return { ...c, event: { ...c.event, op: 'c', before: null } };
  }

  /** True when `key` lies in one of `ranges` (all of table `t`). */
  async #inRanges(
    admin: pg.Client,
    ranges: readonly SnapshotRange[],
    t: { keyTypes: readonly string[] },
    key: readonly unknown[],
  ): Promise<boolean> {
    const row = (from: number) => `ROW(${t.keyTypes.map((ty, i) => `$${from + i}::${ty}`).join(', ')})`;
    for (const r of ranges) {
      const conds: string[] = [];
      const values: unknown[] = [...key];
      if (r.after) {
        conds.push(`${row(1)} > ${row(values.length + 1)}`);
        values.push(...r.after);
      }
      if (r.upTo) {
        conds.push(`${row(1)} <= ${row(values.length + 1)}`);
        values.push(...r.upTo);
      }
      const { rows } = await admin.query(`SELECT (${conds.join(' AND ')}) AS hit`, values);
      if (rows[0]?.hit === 't' || rows[0]?.hit === true) return true;
    }
    return false;
  }
}

function onlyDefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function toText(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

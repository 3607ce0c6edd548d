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
import type pg from 'pg';
import type { SourceChange } from '../../src/core/change-event.js';
import { BridgeError, OffsetLostError } from '../../src/core/errors.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { notYetRead, rangesPending, type ResumeJudge } from '../../src/core/snapshot-resume.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { VERSION } from '../../src/version.js';
import { slotInfo, type TableInfo } from './postgres-catalog.js';
import { classifyPgError, PostgresError } from './postgres-errors.js';
import { encodeStreamed, keyJson, relationJson, rowJson, type RelationJson } from './postgres-event-json.js';
import { RawPgoutputPlugin, type PgMessage, type RowMessage, type TupleValues } from './postgres-pgoutput.js';
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
import { parseRequest, RESNAPSHOT_PREFIX, Resnapshot, WATERMARK_PREFIX } from './postgres-resnapshot.js';

const { LogicalReplicationService } = lr;

export const HEARTBEAT_PREFIX = 'sluice-heartbeat';

interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
  readonly columns: readonly { name: string; decode: Decoder }[];
  readonly replicaKey: readonly string[];
  readonly captured: boolean;
  /** Writes its events' JSON directly; null when a column name needs the object path. */
  readonly json: RelationJson | null;
  /** Key column positions, for the table info they were worked out from. */
  keyIdx: readonly number[];
  keyFrom: TableInfo | undefined | null;
  /** The transaction `tableOrder` counts in (data_collection_order), and the count so far. */
  orderTxn: Txn | null;
  tableOrder: number;
}

interface Txn {
  readonly xid: number;
  readonly xidText: string;
  readonly position: string;
  readonly commitLsn: string;
  readonly commitMs: number;
  index: number;
  pending: SourceChange[];
  /** The Sluice sink that wrote this transaction (its replication origin), if one did. */
  origin?: string;
  /** A re-snapshot request committed by this transaction (postgres-resnapshot.ts). */
  resnap?: Uint8Array;
}

/** The server's version as a number (160002 for 16.2). */
async function serverVersionNum(admin: { query(sql: string): Promise<{ rows: Record<string, unknown>[] }> }) {
  const r = await admin.query('SHOW server_version_num');
  return Number(r.rows[0]?.server_version_num);
}

/** The replication origin a Sluice sink marks its writes with (src/sql/postgres/postgres-dialect.ts). */
const SINK_ORIGIN = /^sluice_sink_(.+)$/;

type Item = { lsn: string; msg: PgMessage } | { lsn: string; msg: { tag: 'keepalive' } };

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
    service.on('data', (lsn: string, msg: PgMessage) => {
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
    // An online re-snapshot in progress (from the offset after a restart, or requested while streaming).
    let resnap = from.resnap ? new Resnapshot(s, admin, from.resnap, ctx.log) : null;
    if (resnap && !(await resnap.startChunk())) resnap = null;
    const offsetAt = (lsn: string): PgOffset => ({
      lsn,
      ...(resumed ? { resumed } : {}),
      ...(resnap ? { resnap: resnap.progress } : {}),
    });
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
            const commitLsn = msg.commitLsn ?? normalize(lsn);
            txn = {
              xid: msg.xid,
              xidText: String(msg.xid),
              position: commitLsn,
              commitLsn,
              commitMs: msg.commitMs,
              index: 0,
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
              resnap?.observe(c);
              const unread = resumed ? await notYetRead(resumed, c, this.#judge(admin, txn.commitLsn)) : c;
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
            const end = msg.commitEndLsn ?? normalize(lsn);
            if (resumed && !rangesPending(resumed, (at) => compareLsn(txn!.commitLsn, at) < 0))
              resumed = undefined;
            lastOffsetLsn = end;
            if (ready.length === 0) ready = txn.pending;
            else for (const c of txn.pending) ready.push(c);
            const request = txn.resnap;
            txn = null;
            if (request) {
              resnap = new Resnapshot(
                s,
                admin,
                parseRequest(request, s.tables, `${end}`.replace('/', '-')),
                ctx.log,
              );
              ctx.log.info(
                { id: resnap.progress.id, tables: resnap.progress.tables },
                'online re-snapshot requested',
              );
              if (!(await resnap.startChunk())) resnap = null;
            }
            readyOffset = offsetAt(end);
            break;
          }
          case 'keepalive': {
            const at = normalize(lsn);
            if (!txn && compareLsn(at, lastOffsetLsn) > 0) {
              lastOffsetLsn = at;
              readyOffset = offsetAt(at);
            }
            break;
          }
          case 'message': {
            if (msg.transactional && txn && msg.prefix === RESNAPSHOT_PREFIX) {
              txn.resnap = msg.content;
              break;
            }
            if (!msg.transactional && !txn && resnap && msg.prefix === WATERMARK_PREFIX) {
              if (resnap.onWatermark(msg.content) === 'high') {
                // The chunk's rows that no change in the window superseded, then the next chunk.
                for (const c of resnap.finishChunk(Date.now())) ready.push(c);
                const more = await resnap.startChunk();
                const progress = resnap.progress;
                if (!more) {
                  ctx.log.info({ id: progress.id, rows: progress.rows }, 'online re-snapshot complete');
                  resnap = null;
                } else
                  ctx.log.debug(
                    { id: progress.id, table: progress.tables[0], rows: progress.rows },
                    're-snapshot progress',
                  );
                const at = msg.messageLsn ? normalize(msg.messageLsn) : lastOffsetLsn;
                if (compareLsn(at, lastOffsetLsn) > 0) lastOffsetLsn = at;
                readyOffset = offsetAt(lastOffsetLsn);
              }
              break;
            }
            // A heartbeat outside any transaction: a resumable point with nothing to publish, so a
            // quiet captured database lets its slot advance on a busy server.
            if (!msg.transactional && !txn && msg.prefix === HEARTBEAT_PREFIX && msg.messageLsn) {
              const at = normalize(msg.messageLsn);
              if (compareLsn(at, lastOffsetLsn) > 0) {
                lastOffsetLsn = at;
                readyOffset = offsetAt(at);
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

  async #onRelation(admin: pg.Client, msg: Extract<PgMessage, { tag: 'relation' }>): Promise<void> {
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
    const origin = { version: VERSION, source: s.cfg.name, db: s.db };
    this.#relations.set(msg.relationOid, {
      schema: msg.schema,
      name: msg.name,
      qualified,
      columns: msg.columns.map((c) => ({ name: c.name, decode: s.types.decoder(c.typeOid) })),
      replicaKey: msg.keyColumns,
      captured,
      json: relationJson(
        origin,
        msg.schema,
        msg.name,
        msg.columns.map((c) => ({ name: c.name, json: s.types.jsonWriter(c.typeOid) })),
      ),
      keyIdx: [],
      keyFrom: null,
      orderTxn: null,
      tableOrder: 0,
    });
  }

  #decode(rel: Relation, tuple: TupleValues | null, unavailable?: string[]): Record<string, unknown> | null {
    if (!tuple) return null;
    const row: Record<string, unknown> = {};
    const cols = rel.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = tuple[i];
      if (v === undefined) {
        unavailable?.push(c.name);
        continue;
      }
      row[c.name] = v === null ? null : c.decode(v);
    }
    return row;
  }

  /** data_collection_order: this change's place among its table's changes in the transaction. */
  #tableOrder(txn: Txn, rel: Relation): number {
    if (rel.orderTxn !== txn) {
      rel.orderTxn = txn;
      rel.tableOrder = 0;
    }
    return ++rel.tableOrder;
  }

  /** Positions of the event key's columns: the table's key, else the replica identity's. */
  #keyIdx(rel: Relation): readonly number[] {
    const t = this.s.tables.get(rel.qualified);
    if (rel.keyFrom !== t) {
      const cols = t && t.key.length > 0 ? t.key : rel.replicaKey;
      rel.keyIdx = cols.map((k) => rel.columns.findIndex((c) => c.name === k));
      rel.keyFrom = t;
    }
    return rel.keyIdx;
  }

  /** The change as JSON written from the tuple (no origin: a sink-written change takes #make). */
  #encode(
    txn: Txn,
    lsn: string,
    rel: Relation,
    json: RelationJson,
    op: 'c' | 'u' | 'd',
    before: TupleValues | null,
    after: TupleValues | null,
  ): SourceChange {
    const unavailable: string[] | null = op === 'u' ? [] : null;
    const afterJson = after ? rowJson(json, after, unavailable) : 'null';
    const beforeJson = before ? rowJson(json, before, null) : 'null';
    const idx = txn.index++;
    return encodeStreamed(json, {
      op,
      before: beforeJson,
      after: afterJson,
      keyJson: keyJson(json, (op === 'd' ? before : after)!, this.#keyIdx(rel)),
      lsn,
      commitMs: txn.commitMs,
      xid: txn.xid,
      xidText: txn.xidText,
      totalOrder: idx + 1,
      tableOrder: this.#tableOrder(txn, rel),
      unavailable,
      position: txn.position,
      index: idx,
    });
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
    const n = this.#tableOrder(txn, rel);
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
    msg: RowMessage | Extract<PgMessage, { tag: 'truncate' }>,
  ): SourceChange[] {
    // No closures here: this runs once per change (and tsx wraps each closure it creates).
    const rels = this.#relations;
    switch (msg.tag) {
      case 'insert': {
        const rel = rels.get(msg.relationOid);
        if (!rel?.captured) return [];
        if (rel.json && txn.origin === undefined)
          return [this.#encode(txn, lsn, rel, rel.json, 'c', null, msg.new)];
        return [this.#make(txn, lsn, rel, 'c', null, this.#decode(rel, msg.new))];
      }
      case 'update': {
        const rel = rels.get(msg.relationOid);
        if (!rel?.captured) return [];
        if (rel.json && txn.origin === undefined)
          return [this.#encode(txn, lsn, rel, rel.json, 'u', msg.old ?? msg.key, msg.new)];
        const unavailable: string[] = [];
        const after = this.#decode(rel, msg.new, unavailable);
        const before = this.#decode(rel, msg.old ?? msg.key);
        return [this.#make(txn, lsn, rel, 'u', before, after, unavailable)];
      }
      case 'delete': {
        const rel = rels.get(msg.relationOid);
        if (!rel?.captured) return [];
        if (rel.json && txn.origin === undefined)
          return [this.#encode(txn, lsn, rel, rel.json, 'd', msg.old ?? msg.key, null)];
        return [this.#make(txn, lsn, rel, 'd', this.#decode(rel, msg.old ?? msg.key), null)];
      }
      case 'truncate':
        return msg.relations.flatMap((r) => {
          const rel = rels.get(r.relationOid);
          return rel?.captured ? [this.#make(txn, lsn, rel, 't', null, null)] : [];
        });
    }
  }

  /** How a change is judged against resumed ranges (src/core/snapshot-resume.ts), for a transaction committed at `commitLsn`. */
  #judge(admin: pg.Client, commitLsn: string): ResumeJudge<string> {
    return {
      committedBefore: (at) => compareLsn(commitLsn, at) < 0,
      table: (qualified) => this.s.tables.get(qualified),
      keyValue: toText,
      inRanges: (ranges, key) => {
        const t = this.s.tables.get(ranges[0]!.table)!;
        return inRanges(admin, ranges, t, key);
      },
      keyOf: (t, row) => this.s.keyOf(this.s.tables.get(t.qualified), row, []),
    };
  }
}

/** True when `key` lies in one of `ranges` (all of table `t`), compared by PostgreSQL with the key's types. */
async function inRanges(
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

function toText(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

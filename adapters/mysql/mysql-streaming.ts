// Streams row events from the binlog through @vlasky/zongji (kept behind this file).
//
// - Offsets only at transaction boundaries: an XID event (or a COMMIT query of a non-transactional
//   engine) or a standalone DDL; each carries the file and position after the commit and the
//   GTID position (MariaDB) or executed set (MySQL) that includes it. A restart replays at most
//   the transactions after the committed offset.
// - Nats-Msg-Id position: the transaction's GTID (file:pos of its start without GTIDs) and the
//   change's index in the transaction, so a replayed transaction gets the same ids and JetStream
//   drops the repeats.
// - Backpressure: events go into a bounded queue as zongji parses them; above HIGH_WATER the
//   binlog socket is paused, below LOW_WATER resumed.
// - A silent connection: the server sends a heartbeat every heartbeatInterval
//   (@master_heartbeat_period); nothing at all for socketTimeout fails the stream (retried).
// - Column names come from the binlog's TableMap (binlog_row_metadata=FULL), so ALTER TABLE
//   add/drop/rename is followed at the DDL's position; keys and JSON columns are re-read from the
//   catalog when a DDL names a captured table. TRUNCATE becomes a `t` event.
import ZongJi, { GtidSet, MariadbGtidPosition } from '@vlasky/zongji';
import type {
  AnyBinlogEvent,
  DeleteRowsEvent,
  QueryEvent,
  UpdateRowsEvent,
  WriteRowsEvent,
} from '@vlasky/zongji';
import type { SourceChange } from '../../src/core/change-event.js';
import { OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';
import { SINK_MARKER_TABLE } from '../../src/core/sink-marker.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { notYetRead, rangesPending, type ResumeJudge } from '../../src/core/snapshot-resume.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { resnapshotHint } from './mysql-errors.js';
import {
  comparePoints,
  fileIndex,
  type BinlogPoint,
  type MysqlOffset,
  type SnapshotRange,
} from './mysql-offset.js';
import type { MysqlSession, ServerFacts } from './mysql-session.js';
import { decodeRow, kindOfBinlogType, type ColumnDecoder } from './mysql-types.js';
import {
  encodeBinlogRow,
  keyJson,
  rowJson,
  tableJson,
  txnJson,
  type TableJson,
  type TxnJson,
} from './mysql-event-json.js';
import { VERSION } from '../../src/version.js';

/** Binlog events queued before the socket is paused, and the level at which it resumes. */
const HIGH_WATER = 2048;
const LOW_WATER = 512;

interface Item {
  readonly e: AnyBinlogEvent;
  /** zongji's resume point when the event was delivered (read synchronously, as its README asks). */
  readonly file: string;
  readonly pos: number;
  readonly gtidSet: string | undefined;
  /** A TableMap's columns as zongji resolved them at that moment (its cache moves on). */
  readonly columns?: readonly { name: string; type: number }[];
}

interface Rel {
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly decoders: readonly ColumnDecoder[];
  /** Writes its events' JSON directly (null: a column name needs the object path); made on first use. */
  json?: TableJson | null;
  /** Key column positions, for the table info they were worked out from. */
  keyIdx?: readonly number[];
  keyFrom?: unknown;
}

interface Txn {
  /** The GTID, or file:pos of the transaction's first event. */
  readonly id: string;
  readonly gtid: string | null;
  readonly start: BinlogPoint;
  readonly serverId: number;
  readonly thread: number | null;
  /** When the transaction was written (the binlog event header, seconds). */
  readonly tsMs: number;
  index: number;
  readonly perTable: Map<string, number>;
  pending: SourceChange[];
  /** Its part of the source block, written at its first row. */
  json?: TxnJson;
  /** The Sluice sink that wrote this transaction (its marker row came first), if one did. */
  origin?: string;
}

const TRUNCATE = /^\s*TRUNCATE\s+(?:TABLE\s+)?(`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(`(?:[^`]|``)+`|[\w$]+))?/i;
const DDL = /^\s*(?:ALTER|RENAME|DROP|CREATE)\b/i;
const unquote = (s: string) => (s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s);

export class BinlogStream {
  #zongji: ZongJi | null = null;
  #rels = new Map<number, Rel | null>();
  /** Table ids of sluice_sink_marker tables (two-way: a Sluice sink wrote the transaction). */
  readonly #markers = new Set<number>();

  constructor(
    readonly s: MysqlSession,
    readonly captured: ReadonlySet<string>,
  ) {}

  async close(): Promise<void> {
    const z = this.#zongji;
    this.#zongji = null;
    if (!z) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      z.once('stopped', () => {
        clearTimeout(t);
        resolve();
      });
      try {
        z.stop();
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }

  /** Refuses to resume from a position the server no longer has (purged, rewound, another server). */
  async checkResume(from: MysqlOffset, facts: ServerFacts): Promise<void> {
    const s = this.s;
    const lost = (why: string) =>
      new OffsetLostError(
        `source ${s.cfg.name} cannot resume at ${from.file}:${from.pos}${from.gtid ? ` (gtid ${from.gtid})` : ''}: ${why}; ${resnapshotHint(s.cfg.name)}`,
      );
    if (from.serverUuid && facts.serverUuid && from.serverUuid !== facts.serverUuid)
      throw lost(
        `the server's server_uuid is ${facts.serverUuid}, not ${from.serverUuid} (a different or restored server)`,
      );
    const sameServer = from.serverId === facts.serverId;
    const byGtid = facts.gtids && !!from.gtid;
    if (!sameServer && !byGtid)
      throw lost(
        `the server's server_id is ${facts.serverId}, not ${from.serverId}, and the offset has no GTIDs`,
      );
    const logs = (await s.rows('SHOW BINARY LOGS')).map((r) => ({
      file: String(r.Log_name),
      size: Number(r.File_size),
    }));
    if (sameServer) {
      const here = logs.find((l) => l.file === from.file);
      const oldest = logs[0];
      if (!here && (!oldest || fileIndex(from.file) < fileIndex(oldest.file)))
        throw lost(`binlog ${from.file} was purged (the oldest left is ${oldest?.file ?? 'none'})`);
      if (!here && oldest && fileIndex(from.file) > fileIndex(logs[logs.length - 1]!.file))
        throw lost(`binlog ${from.file} is newer than any the server has (a rewound or restored server)`);
      if (here && here.size < from.pos)
        throw lost(`binlog ${from.file} is only ${here.size} bytes long (a rewound or restored server)`);
    }
    if (byGtid && facts.mariadb) {
      const [g] = await s.rows('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
      const server = parseMariadbPosition(String(g?.pos ?? ''));
      for (const [domain, mine] of parseMariadbPosition(from.gtid!)) {
        const theirs = server.get(domain);
        if (!theirs)
          throw lost(
            `GTID domain ${domain} is not in the server's binlog (gtid_binlog_pos ${String(g?.pos)})`,
          );
        if (theirs.server === mine.server && theirs.seq < mine.seq)
          throw lost(
            `the server's binlog ends at ${domain}-${theirs.server}-${theirs.seq}, before the offset (a rewound or restored server)`,
          );
      }
      // The oldest binlog must still hold what comes after the offset.
      const oldest = logs[0];
      if (oldest) {
        const [b] = await s.rows('SELECT BINLOG_GTID_POS(?, 4) AS pos', [oldest.file]);
        const start = parseMariadbPosition(String(b?.pos ?? ''));
        for (const [domain, first] of start) {
          const mine = parseMariadbPosition(from.gtid!).get(domain);
          if (mine && mine.server === first.server && mine.seq < first.seq)
            throw lost(
              `the binlogs after ${domain}-${mine.server}-${mine.seq} were purged (the oldest, ${oldest.file}, starts after ${domain}-${first.server}-${first.seq})`,
            );
        }
      }
    } else if (byGtid) {
      const [r] = await s.rows(
        'SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed) AS inside, GTID_SUBSET(@@GLOBAL.gtid_purged, ?) AS kept',
        [from.gtid, from.gtid],
      );
      if (Number(r?.inside) !== 1)
        throw lost(
          'the offset holds transactions the server has not executed (a rewound or restored server)',
        );
      if (Number(r?.kept) !== 1)
        throw lost('binlogs the offset still needs were purged (gtid_purged is not inside it)');
    }
  }

  async *run(ctx: SourceContext, from: MysqlOffset): AsyncGenerator<ChangeBatch<MysqlOffset>> {
    const s = this.s;
    const facts = await s.facts();
    await this.checkResume(from, facts);
    const identity = {
      serverId: facts.serverId,
      ...(facts.serverUuid ? { serverUuid: facts.serverUuid } : {}),
    };
    const queue = new AsyncQueue<Item>(HIGH_WATER * 4);
    const zongji = new ZongJi(await s.binlogOptions());
    this.#zongji = zongji;
    this.#rels.clear();

    let paused = false;
    let lastEventAt = Date.now();
    const flow = (pause: boolean) => {
      const c = zongji.connection as unknown as { pause(): void; resume(): void } | null;
      if (!c) return;
      if (pause) c.pause();
      else {
        lastEventAt = Date.now();
        c.resume();
      }
    };
    zongji.on('binlog', (e: AnyBinlogEvent) => {
      lastEventAt = Date.now();
      const columns =
        e.getEventName() === 'tablemap'
          ? (zongji.tableMap[(e as { tableId: number }).tableId]?.columns ?? [])
          : undefined;
      queue.pushNow({
        e,
        file: String(zongji.options.filename ?? ''),
        pos: Number(zongji.options.position ?? 0),
        gtidSet: zongji.gtidSet,
        columns,
      });
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
    zongji.on('error', (err: Error) => queue.fail(s.classify(err, 'binlog stream failed')));
    const schemas: Record<string, string[]> = {};
    for (const q of this.captured) {
      const dot = q.indexOf('.');
      (schemas[q.slice(0, dot)] ??= []).push(q.slice(dot + 1));
    }
    for (const tables of Object.values(schemas)) tables.push(SINK_MARKER_TABLE);
    const useGtid = facts.gtids && !!from.gtid;
    zongji.start({
      serverId: s.serverId,
      ...(useGtid ? { gtidSet: from.gtid! } : { filename: from.file, position: from.pos }),
      // Row events of other tables are not decoded at all; their commits still move the offset.
      includeSchema: schemas,
    });
    // Queued on the binlog connection ahead of the dump command (zongji sends its own settings
    // after an asynchronous version check): the server's heartbeat while the binlog is quiet.
    const beat = s.cfg.heartbeatInterval;
    if (beat > 0)
      (
        zongji.connection as unknown as { query(sql: string, cb: (err: Error | null) => void): void } | null
      )?.query(`SET @master_heartbeat_period = ${BigInt(beat) * 1_000_000n}`, (err) => {
        if (err) queue.fail(s.classify(err, 'cannot set the binlog heartbeat'));
      });
    const timeout = s.cfg.socketTimeout;
    const watchdog = setInterval(
      () => {
        if (!paused && Date.now() - lastEventAt > timeout)
          queue.fail(
            new SourceUnavailableError(
              `the binlog connection delivered nothing, not even a heartbeat, for ${timeout} ms; reconnecting`,
            ),
          );
      },
      Math.max(100, Math.min(timeout / 4, 5000)),
    );
    watchdog.unref();
    const onAbort = () => queue.end();
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    let resumed: SnapshotRange[] | undefined = from.resumed;
    let txn: Txn | null = null;
    let standalone: { gtid: string; serverId: number; thread: number | null; start: BinlogPoint } | null =
      null;
    let ready: SourceChange[] = [];
    let readyOffset: MysqlOffset | null = null;
    const takeReady = (): ChangeBatch<MysqlOffset> => {
      const batch = { changes: ready, offset: readyOffset };
      ready = [];
      readyOffset = null;
      return batch;
    };
    const point = (item: Item, gtid: string | undefined): MysqlOffset => {
      const base: MysqlOffset = {
        file: item.file,
        pos: item.pos,
        ...identity,
        ...(gtid !== undefined ? { gtid } : {}),
      };
      if (resumed && resumed.length > 0) base.resumed = resumed;
      return base;
    };
    const begin = (item: Item, gtid: string | null, serverId: number, thread: number | null): Txn => {
      const e = item.e;
      const start = { file: item.file, pos: Math.max(4, e.nextPosition - e.size) };
      return {
        id: gtid ?? `${start.file}:${start.pos}`,
        gtid,
        start,
        serverId,
        thread,
        tsMs: e.timestamp,
        index: 0,
        perTable: new Map(),
        pending: [],
      };
    };
    const commit = (item: Item) => {
      if (txn) {
        // A resumed snapshot's ranges were read after every transaction committed up to their point.
        if (resumed && !rangesPending(resumed, (at) => this.#before(txn!, at, facts))) resumed = undefined;
        if (ready.length === 0) ready = txn.pending;
        else for (const c of txn.pending) ready.push(c);
      }
      txn = null;
      readyOffset = point(item, item.gtidSet);
    };

    try {
      for await (const item of queue) {
        const e = item.e;
        switch (e.getEventName()) {
          case 'mariadbgtid': {
            const g = e as Extract<AnyBinlogEvent, { getEventName(): 'mariadbgtid' }>;
            standalone = null;
            if (g.standalone)
              standalone = {
                gtid: g.gtid,
                serverId: g.serverId,
                thread: g.threadId ?? null,
                start: { file: item.file, pos: Math.max(4, g.nextPosition - g.size) },
              };
            else txn = begin(item, g.gtid, g.serverId, g.threadId ?? null);
            break;
          }
          case 'gtid':
          case 'anonymousgtid': {
            const g = e as Extract<AnyBinlogEvent, { getEventName(): 'gtid' }>;
            txn = begin(item, e.getEventName() === 'gtid' ? g.gtid : null, facts.serverId, null);
            break;
          }
          case 'tablemap':
            this.#onTableMap(
              e as Extract<AnyBinlogEvent, { getEventName(): 'tablemap' }>,
              item.columns ?? [],
            );
            break;
          case 'writerows':
          case 'updaterows':
          case 'deleterows': {
            txn ??= begin(item, e.gtid ?? null, facts.serverId, null);
            if (this.#markers.has((e as WriteRowsEvent).tableId)) {
              txn.origin = markerSink(e as WriteRowsEvent | UpdateRowsEvent) ?? txn.origin;
              break;
            }
            for (const c of this.#toChanges(txn, e as WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent)) {
              const unread = resumed ? await notYetRead(resumed, c, this.#judge(txn, facts)) : c;
              if (unread) txn.pending.push(unread);
            }
            if (txn.pending.length >= s.cfg.maxBatchRows) {
              if (readyOffset) yield takeReady();
              yield { changes: txn.pending, offset: null };
              txn.pending = [];
            }
            break;
          }
          case 'xid':
            commit(item);
            break;
          case 'xaprepare':
            // The prepared group's rows are handed on at XA PREPARE (see README "Limits").
            commit(item);
            break;
          case 'query': {
            const q = e as QueryEvent;
            const text = q.query.trim();
            const upper = text.slice(0, 16).toUpperCase();
            if (upper === 'BEGIN' || upper.startsWith('XA START')) {
              txn ??= begin(item, e.gtid ?? null, facts.serverId, q.slaveProxyId);
              break;
            }
            if (upper === 'COMMIT' || upper.startsWith('XA COMMIT')) {
              commit(item);
              break;
            }
            if (upper === 'ROLLBACK' || upper.startsWith('XA ROLLBACK')) {
              txn = null;
              readyOffset = point(item, item.gtidSet);
              break;
            }
            await this.#onStatement(q, item, standalone, facts, (c) => ready.push(c));
            // A standalone statement (DDL) ends its own group: a resumable point after it.
            let gtid = item.gtidSet;
            if (standalone && gtid !== undefined && facts.mariadb) {
              const p = MariadbGtidPosition.parse(gtid);
              const [d, sid, seq] = standalone.gtid.split('-');
              p.add({ domainId: Number(d), serverId: Number(sid), seqNo: seq! });
              gtid = p.toString();
            } else if (gtid !== undefined && e.gtid && !facts.mariadb) {
              const set = GtidSet.parse(gtid);
              set.add(e.gtid);
              gtid = set.toString();
            }
            if (!txn) readyOffset = point(item, gtid);
            standalone = null;
            break;
          }
          default:
            break;
        }
        if (readyOffset && (queue.size === 0 || ready.length >= s.cfg.maxBatchRows)) yield takeReady();
      }
    } finally {
      clearInterval(watchdog);
      ctx.signal.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  /** True when `txn` committed before the point `at` (and so is inside a snapshot taken there). */
  #before(txn: Txn, at: BinlogPoint, facts: ServerFacts): boolean {
    if (txn.gtid && at.gtid !== undefined) {
      return facts.mariadb
        ? MariadbGtidPosition.parse(at.gtid).covers(txn.gtid)
        : GtidSet.parse(at.gtid).contains(txn.gtid);
    }
    return comparePoints(txn.start, at) < 0;
  }

  #onTableMap(
    e: Extract<AnyBinlogEvent, { getEventName(): 'tablemap' }>,
    cols: readonly { name: string; type: number }[],
  ): void {
    const qualified = `${e.schemaName}.${e.tableName}`;
    if (e.tableName === SINK_MARKER_TABLE) this.#markers.add(e.tableId);
    else this.#markers.delete(e.tableId);
    if (!this.captured.has(qualified)) {
      this.#rels.set(e.tableId, null);
      return;
    }
    const table = this.s.tables.get(qualified);
    const json = new Set(table?.columns.filter((c) => c.json).map((c) => c.name));
    const decoders = cols.map((c) => ({ name: c.name, kind: kindOfBinlogType(c.type, json.has(c.name)) }));
    // Every transaction maps its tables again: keep what was worked out while nothing changed.
    const prev = this.#rels.get(e.tableId);
    if (
      prev &&
      prev.qualified === qualified &&
      prev.decoders.length === decoders.length &&
      prev.decoders.every((d, i) => d.name === decoders[i]!.name && d.kind === decoders[i]!.kind)
    )
      return;
    this.#rels.set(e.tableId, { qualified, schema: e.schemaName, name: e.tableName, decoders });
  }

  #tableJson(rel: Rel): TableJson | null {
    if (rel.json === undefined) {
      const s = this.s;
      rel.json = tableJson(
        { version: VERSION, source: s.cfg.name, db: s.db },
        rel.schema,
        rel.name,
        rel.decoders,
      );
    }
    return rel.json;
  }

  /** Positions of the table's key columns in the table map. */
  #keyIdx(rel: Rel): readonly number[] {
    const t = this.s.tables.get(rel.qualified);
    if (rel.keyIdx === undefined || rel.keyFrom !== t) {
      rel.keyIdx = (t?.key ?? []).map((k) => rel.decoders.findIndex((d) => d.name === k));
      rel.keyFrom = t;
    }
    return rel.keyIdx;
  }

  /** The change as JSON written from zongji's row (see mysql-event-json.ts). */
  #encode(
    txn: Txn,
    rel: Rel,
    t: TableJson,
    op: 'c' | 'u' | 'd',
    before: Readonly<Record<string, unknown>> | null,
    after: Readonly<Record<string, unknown>> | null,
    row: number,
  ): SourceChange {
    const zero: string[] = [];
    const n = (txn.perTable.get(rel.qualified) ?? 0) + 1;
    txn.perTable.set(rel.qualified, n);
    const idx = txn.index++;
    const afterJson = after ? rowJson(t, after, zero) : 'null';
    const beforeJson = before ? rowJson(t, before, op === 'd' ? zero : null) : 'null';
    return encodeBinlogRow(t, (txn.json ??= txnJson(txn)), {
      op,
      before: beforeJson,
      after: afterJson,
      keyJson: keyJson(t, (op === 'd' ? before : after)!, this.#keyIdx(rel)),
      row,
      tsMs: txn.tsMs,
      zero,
      totalOrder: idx + 1,
      tableOrder: n,
      position: txn.id,
      index: idx,
    });
  }

  #toChanges(txn: Txn, e: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent): SourceChange[] {
    const rel = this.#rels.get(e.tableId);
    if (!rel) return [];
    const out: SourceChange[] = [];
    const name = e.getEventName();
    // A sink-written transaction (its marker row came first) takes #make, which carries the origin.
    const t = txn.origin === undefined ? this.#tableJson(rel) : null;
    if (t) {
      for (let i = 0; i < e.rows.length; i++) {
        if (name === 'updaterows') {
          const r = (e as UpdateRowsEvent).rows[i]!;
          out.push(this.#encode(txn, rel, t, 'u', r.before, r.after, i));
        } else if (name === 'writerows')
          out.push(this.#encode(txn, rel, t, 'c', null, (e as WriteRowsEvent).rows[i]!, i));
        else out.push(this.#encode(txn, rel, t, 'd', (e as DeleteRowsEvent).rows[i]!, null, i));
      }
      return out;
    }
    for (let i = 0; i < e.rows.length; i++) {
      const zero: string[] = [];
      let before: Record<string, unknown> | null = null;
      let after: Record<string, unknown> | null = null;
      if (name === 'updaterows') {
        const r = (e as UpdateRowsEvent).rows[i]!;
        before = decodeRow(rel.decoders, r.before);
        after = decodeRow(rel.decoders, r.after, zero);
      } else if (name === 'writerows') after = decodeRow(rel.decoders, (e as WriteRowsEvent).rows[i]!, zero);
      else before = decodeRow(rel.decoders, (e as DeleteRowsEvent).rows[i]!, zero);
      out.push(
        this.#make(
          txn,
          rel,
          name === 'writerows' ? 'c' : name === 'updaterows' ? 'u' : 'd',
          before,
          after,
          i,
          zero,
        ),
      );
    }
    return out;
  }

  #make(
    txn: Txn,
    rel: { qualified: string; schema: string; name: string },
    op: 'c' | 'u' | 'd' | 't',
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    row: number,
    zero: string[],
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
      key: keySource ? s.keyOf(s.tables.get(rel.qualified), keySource) : {},
      tsMs: txn.tsMs,
      snapshot: 'false',
      file: txn.start.file,
      pos: txn.start.pos,
      row,
      gtid: txn.gtid,
      server_id: txn.serverId,
      thread: txn.thread,
      ...(zero.length > 0 ? { zero_dates: zero } : {}),
      transaction: { id: txn.id, total_order: idx + 1, data_collection_order: n },
      position: txn.id,
      index: idx,
      origin: txn.origin,
    });
  }

  /** TRUNCATE becomes `t`; DDL naming a captured table re-reads its key and JSON columns. */
  async #onStatement(
    q: QueryEvent,
    item: Item,
    standalone: { gtid: string; serverId: number; thread: number | null; start: BinlogPoint } | null,
    facts: ServerFacts,
    emit: (c: SourceChange) => void,
  ): Promise<void> {
    const text = q.query;
    const m = TRUNCATE.exec(text);
    if (m) {
      const schema = m[2] ? unquote(m[1]!) : q.schema;
      const name = unquote(m[2] ?? m[1]!);
      const qualified = `${schema}.${name}`;
      if (!this.captured.has(qualified)) return;
      const start = standalone?.start ?? { file: item.file, pos: Math.max(4, q.nextPosition - q.size) };
      const gtid = standalone?.gtid ?? q.gtid ?? null;
      const txn: Txn = {
        id: gtid ?? `${start.file}:${start.pos}`,
        gtid,
        start,
        serverId: standalone?.serverId ?? facts.serverId,
        thread: standalone?.thread ?? q.slaveProxyId,
        tsMs: q.timestamp,
        index: 0,
        perTable: new Map(),
        pending: [],
      };
      emit(this.#make(txn, { qualified, schema, name }, 't', null, null, 0, []));
      return;
    }
    if (!DDL.test(text)) return;
    for (const qualified of this.captured) {
      const name = qualified.slice(qualified.indexOf('.') + 1);
      if (!text.includes(name)) continue;
      const info = await this.s.loadTable(qualified).catch((err: unknown) => {
        throw this.s.classify(err, `cannot re-read ${qualified} after DDL`);
      });
      this.s.log.info(
        { table: qualified, ddl: text.slice(0, 200), exists: info !== null },
        'DDL on a captured table',
      );
    }
  }

  /** How a change of `txn` is judged against resumed ranges (src/core/snapshot-resume.ts). */
  #judge(txn: Txn, facts: ServerFacts): ResumeJudge<BinlogPoint> {
    return {
      committedBefore: (at) => this.#before(txn, at, facts),
      table: (qualified) => this.s.tables.get(qualified),
      keyValue: (v) => v,
      inRanges: (ranges, key) => this.#inRanges(ranges, key),
      keyOf: (t, row) => this.s.keyOf(this.s.tables.get(t.qualified), row),
    };
  }

  /** True when `key` lies in one of `ranges` (all of one table; bounds exclusive after, inclusive up to). */
  async #inRanges(ranges: readonly SnapshotRange[], key: readonly unknown[]): Promise<boolean> {
    const tuple = `(${key.map(() => '?').join(', ')})`;
    for (const r of ranges) {
      const conds: string[] = [];
      const binds: unknown[] = [];
      if (r.after) {
        conds.push(`${tuple} > ${tuple}`);
        binds.push(...key, ...r.after);
      }
      if (r.upTo) {
        conds.push(`${tuple} <= ${tuple}`);
        binds.push(...key, ...r.upTo);
      }
      const [row] = await this.s.rows(`SELECT (${conds.join(' AND ')}) AS hit`, binds);
      if (Number(row?.hit) === 1) return true;
    }
    return false;
  }
}

/** `0-1-100,1-2-5` → domain → {server, seq} (seq as bigint: MariaDB's are u64). */
export function parseMariadbPosition(text: string): Map<number, { server: number; seq: bigint }> {
  const out = new Map<number, { server: number; seq: bigint }>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (m) out.set(Number(m[1]), { server: Number(m[2]), seq: BigInt(m[3]!) });
  }
  return out;
}

/** The sink named by a marker row event (its after image's `sink`). */
function markerSink(e: WriteRowsEvent | UpdateRowsEvent): string | undefined {
  const r = e.rows[0] as Record<string, unknown> | undefined;
  const row = (e.getEventName() === 'updaterows' ? r?.after : r) as Record<string, unknown> | undefined;
  const sink = row?.sink;
  return typeof sink === 'string' ? sink : undefined;
}

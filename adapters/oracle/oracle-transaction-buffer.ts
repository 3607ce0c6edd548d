// Our own transaction buffer, instead of LogMiner's COMMITTED_DATA_ONLY. COMMITTED_DATA_ONLY makes
// the server stage every transaction whole in the mining session's PGA until it commits: a long or
// large transaction fails the session (ORA-04036 PGA_AGGREGATE_LIMIT) and its SCN window can never
// move past it. Here the rows arrive in redo order, interleaved across transactions, and are kept
// per XID until COMMIT (published, in commit order) or ROLLBACK (dropped, logged); past
// `spillAfterRows` a transaction goes on in a temporary file. A transaction is never dropped for
// being long: it keeps the restart SCN (the offset's low watermark) at its first row, so a restart
// mines it again from there.
import { createReadStream } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CommitKey } from './oracle-offset.js';

/** One DML row of a transaction, its SQL_REDO already joined across continuation rows. */
export interface DmlEntry {
  readonly scn: string;
  readonly owner: string;
  readonly table: string;
  readonly sql: string;
  readonly rsId: string | null;
  readonly ssn: number | null;
  readonly rowId: string | null;
}

/** A transaction whose COMMIT was read. */
export interface CommittedTransaction extends CommitKey {
  readonly startScn: string;
  readonly user: string | null;
  readonly commitTime: Date | null;
  readonly size: number;
  /** The rows that were not rolled back to a savepoint, in redo order. */
  entries(): AsyncIterable<DmlEntry>;
  /** Removes its spill file, if it has one. */
  discard(): Promise<void>;
}

export interface OpenTransaction {
  readonly xid: string;
  readonly thread: number;
  readonly startScn: string;
  readonly firstSeen: Date | null;
  readonly user: string | null;
  size: number;
}

class Tx implements OpenTransaction {
  entries: DmlEntry[] = [];
  size = 0;
  /** Indexes of entries undone by a rollback to savepoint. */
  readonly cancelled = new Set<number>();
  /** Per ROW_ID, the indexes of its live entries (the last one is what a rollback row undoes). */
  readonly byRow = new Map<string, number[]>();
  file: string | null = null;
  pending: string[] = [];
  user: string | null = null;

  constructor(
    readonly xid: string,
    readonly thread: number,
    readonly startScn: string,
    readonly firstSeen: Date | null,
  ) {}
}

export class TransactionBuffer {
  readonly #open = new Map<string, Tx>();
  #dir: string | null = null;

  constructor(private readonly spillAfterRows: number) {}

  /** The transactions that have rows but no COMMIT or ROLLBACK yet. */
  open(): readonly OpenTransaction[] {
    return [...this.#open.values()];
  }

  get size(): number {
    return this.#open.size;
  }

  #tx(xid: string, thread: number, scn: string, at: Date | null): Tx {
    let tx = this.#open.get(xid);
    if (!tx) {
      tx = new Tx(xid, thread, scn, at);
      this.#open.set(xid, tx);
    }
    return tx;
  }

  /** START: the transaction's first SCN (its low watermark). */
  start(xid: string, thread: number, scn: string, at: Date | null): void {
    this.#tx(xid, thread, scn, at);
  }

  /** A DML row, or (rollback = true) a row undoing the transaction's latest change to that ROW_ID. */
  async add(
    xid: string,
    thread: number,
    e: DmlEntry,
    rollback: boolean,
    user: string | null,
    at: Date | null,
  ): Promise<void> {
    const tx = this.#tx(xid, thread, e.scn, at);
    tx.user ??= user;
    if (rollback) {
      const live = e.rowId ? tx.byRow.get(e.rowId) : undefined;
      const undone = live?.pop();
      if (undone !== undefined) tx.cancelled.add(undone);
      return;
    }
    const i = tx.size++;
    if (e.rowId) {
      const live = tx.byRow.get(e.rowId);
      if (live) live.push(i);
      else tx.byRow.set(e.rowId, [i]);
    }
    if (tx.file === null && tx.size <= this.spillAfterRows) {
      tx.entries.push(e);
      return;
    }
    if (tx.file === null) {
      this.#dir ??= await mkdtemp(join(tmpdir(), 'sluice-oracle-tx-'));
      tx.file = join(this.#dir, `${tx.xid}.jsonl`);
      tx.pending = tx.entries.map((x) => JSON.stringify(x));
      tx.entries = [];
    }
    tx.pending.push(JSON.stringify(e));
    if (tx.pending.length >= 1000) await flush(tx);
  }

  /** COMMIT: the transaction leaves the buffer; null when it had no rows of the captured tables. */
  async commit(
    xid: string,
    thread: number,
    commitScn: string,
    at: Date | null,
  ): Promise<CommittedTransaction | null> {
    const tx = this.#open.get(xid);
    this.#open.delete(xid);
    if (!tx || tx.size === 0) return null;
    await flush(tx);
    const live = tx.size - tx.cancelled.size;
    return {
      commitScn,
      thread: tx.thread || thread,
      txId: tx.xid,
      startScn: tx.startScn,
      user: tx.user,
      commitTime: at,
      size: live,
      entries: () => replay(tx),
      discard: async () => {
        if (tx.file) await rm(tx.file, { force: true });
      },
    };
  }

  /** ROLLBACK: the transaction's rows are dropped. Returns how many there were. */
  async rollback(xid: string): Promise<number> {
    const tx = this.#open.get(xid);
    this.#open.delete(xid);
    if (tx?.file) await rm(tx.file, { force: true });
    return tx?.size ?? 0;
  }

  /** Forgets everything (a new stream starts from its offset and reads these rows again). */
  async clear(): Promise<void> {
    this.#open.clear();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}

async function flush(tx: Tx): Promise<void> {
  if (!tx.file || tx.pending.length === 0) return;
  const lines = tx.pending;
  tx.pending = [];
  await appendFile(tx.file, `${lines.join('\n')}\n`);
}

async function* replay(tx: Tx): AsyncGenerator<DmlEntry> {
  if (!tx.file) {
    for (let i = 0; i < tx.entries.length; i++) if (!tx.cancelled.has(i)) yield tx.entries[i]!;
    return;
  }
  const lines = createInterface({ input: createReadStream(tx.file, 'utf8'), crlfDelay: Infinity });
  let i = 0;
  for await (const line of lines) {
    if (!line) continue;
    if (!tx.cancelled.has(i)) yield JSON.parse(line) as DmlEntry;
    i++;
  }
}

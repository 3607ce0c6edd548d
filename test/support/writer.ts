// A small steady writer: inserts, updates and deletes in multi-row transactions, tolerating a
// server restart (failed transactions are simply not committed, so they are not expected either).
import pg from 'pg';

export class Writer {
  #stop = false;
  committed = 0;
  failed = 0;
  /** Rows inserted, updated or deleted by committed transactions: what the stream must hold. */
  changes = 0;
  #done: Promise<void> | null = null;
  #next = 1;

  constructor(
    readonly url: string,
    readonly table = 'items',
  ) {}

  static ddl(table = 'items'): string {
    return `CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, note text); ALTER TABLE ${table} REPLICA IDENTITY FULL;`;
  }

  start(txPerSecond = 200): void {
    this.#done = this.#loop(txPerSecond);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }

  async #loop(rate: number): Promise<void> {
    let client: pg.Client | null = null;
    const gap = 1000 / rate;
    while (!this.#stop) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: this.url });
          client.on('error', () => {});
          await client.connect();
        }
        const id = this.#next;
        const run = async (sql: string, params: unknown[]) =>
          (await client!.query(sql, params)).rowCount ?? 0;
        let rows = 0;
        await client.query('BEGIN');
        rows += await run(`INSERT INTO ${this.table} VALUES ($1, 0, 'n'), ($2, 0, 'n')`, [id, id + 1]);
        rows += await run(`UPDATE ${this.table} SET v = v + 1 WHERE id = $1 OR id = $2`, [
          Math.max(1, id - 7),
          id,
        ]);
        if (id % 3 === 0) rows += await run(`DELETE FROM ${this.table} WHERE id = $1`, [id - 2]);
        await client.query('COMMIT');
        this.#next += 2;
        this.committed++;
        this.changes += rows;
      } catch {
        this.failed++;
        await client?.end().catch(() => {});
        client = null;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, gap));
    }
    await client?.end().catch(() => {});
  }
}

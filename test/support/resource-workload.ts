// A legacy workload on tables that resources map, and the checks of the resource events made from
// it: the stream's resource events must equal the raw stream mapped through the resources (same
// ids, same bodies, same order, so per key too), and replaying them must give the tables' rows in
// API shape.
import pg from 'pg';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resourceEventSchema } from '../../src/delivery/resource-event.js';
import { SourceRoutes } from '../../src/delivery/resource-events.js';
import { rawTable } from '../../src/delivery/router-session.js';
import type { StoredEvent } from '../../src/nats/stream-reader.js';
import { readTableStates } from './postgres-state.js';

export const LEGACY_DDL = `
  CREATE TABLE custmast (cust_no char(8) PRIMARY KEY, cust_nm char(20) NOT NULL, actv_flg char(1) NOT NULL,
    crt_dt int NOT NULL, bal_amt numeric(10,2) NOT NULL, ssn text, batch_run int NOT NULL DEFAULT 0);
  ALTER TABLE custmast REPLICA IDENTITY FULL;
  CREATE TABLE ordln (ord_no char(10) NOT NULL, ln_no int NOT NULL, qty int NOT NULL, PRIMARY KEY (ord_no, ln_no));
  ALTER TABLE ordln REPLICA IDENTITY FULL;
  CREATE TABLE marker (id int PRIMARY KEY);
  INSERT INTO custmast SELECT 'C' || lpad(g::text, 4, '0'), 'Seed ' || g, 'Y', 20240101 + g % 28, g * 1.5, 'ssn' || g
    FROM generate_series(1, 20) g;`;

export const LEGACY_TABLES = ['public.custmast', 'public.ordln', 'public.marker'];

/** The `api` section: two resources on custmast (one with a field hidden from every reader), one on ordln. */
export function legacyApi(source: string): Record<string, unknown> {
  return {
    resources: {
      customers: {
        source,
        table: 'public.custmast',
        key: ['id'],
        fields: {
          id: { column: 'cust_no', codec: 'trim' },
          name: { column: 'cust_nm', codec: 'trim' },
          active: { column: 'actv_flg', codec: 'yn' },
          createdOn: { column: 'crt_dt', codec: 'yyyymmdd' },
          balance: { column: 'bal_amt', codec: 'decimal' },
          ssn: { column: 'ssn' },
        },
        access: { clerk: ['read'], admin: ['read', 'update'] },
        hiddenFields: { clerk: ['ssn'], admin: ['ssn'] },
      },
      customerNames: {
        source,
        table: 'custmast',
        key: ['no'],
        fields: { no: { column: 'cust_no', codec: 'trim' }, name: { column: 'cust_nm', codec: 'trim' } },
      },
      orderLines: {
        source,
        table: 'public.ordln',
        key: ['order', 'line'],
        fields: {
          order: { column: 'ord_no', codec: 'trim' },
          line: { column: 'ln_no', codec: 'int' },
          qty: { column: 'qty', codec: 'int' },
        },
      },
    },
  };
}

/**
 * Random legacy transactions: inserts, updates of mapped columns, updates of an unmapped column
 * only (no resource event), key changes, deletes; order numbers with `,` and `%` in them.
 */
export class LegacyWorkload {
  #stop = false;
  #done: Promise<void> | null = null;
  committed = 0;
  #next: number;
  readonly #keys: string[] = Array.from({ length: 20 }, (_, i) => `C${String(i + 1).padStart(4, '0')}`);

  /** `firstId`: where new keys start (another workload on the same tables needs another range). */
  constructor(
    readonly url: string,
    firstId = 100,
  ) {
    this.#next = firstId;
  }

  start(): void {
    this.#done = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }

  /** Runs `n` transactions now. */
  async run(n: number): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      for (let i = 0; i < n; i++) await this.#tx(c);
    } finally {
      await c.end();
    }
  }

  async #loop(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      while (!this.#stop) await this.#tx(c);
    } finally {
      await c.end();
    }
  }

  #pick(): string {
    return this.#keys[Math.floor(Math.random() * this.#keys.length)]!;
  }

  async #tx(c: pg.Client): Promise<void> {
    await c.query('BEGIN');
    for (let i = 0; i < 3; i++) {
      const r = Math.random();
      const n = this.#next++;
      if (r < 0.2) {
        const k = `C${n}`;
        await c.query(`INSERT INTO custmast VALUES ($1, $2, 'Y', 20240105, 10.25, $3)`, [
          k,
          `New ${n}`,
          `s${n}`,
        ]);
        this.#keys.push(k);
      } else if (r < 0.45) {
        await c.query(
          `UPDATE custmast SET bal_amt = bal_amt + 1, actv_flg = CASE actv_flg WHEN 'Y' THEN 'N' ELSE 'Y' END WHERE cust_no = $1`,
          [this.#pick()],
        );
      } else if (r < 0.6) {
        // A batch job touching a column nobody mapped, and one touching only a hidden field.
        await c.query('UPDATE custmast SET batch_run = batch_run + 1 WHERE cust_no = $1', [this.#pick()]);
        await c.query(`UPDATE custmast SET ssn = ssn || 'x' WHERE cust_no = $1`, [this.#pick()]);
      } else if (r < 0.7 && this.#keys.length > 5) {
        const i = Math.floor(Math.random() * this.#keys.length);
        const k = `K${n}`;
        await c.query('UPDATE custmast SET cust_no = $2 WHERE cust_no = $1', [this.#keys[i], k]);
        this.#keys[i] = k;
      } else if (r < 0.78 && this.#keys.length > 5) {
        const [k] = this.#keys.splice(Math.floor(Math.random() * this.#keys.length), 1);
        await c.query('DELETE FROM custmast WHERE cust_no = $1', [k]);
      } else {
        const order = `O,${n % 7}%`;
        await c.query(
          'INSERT INTO ordln VALUES ($1, $2, 1) ON CONFLICT (ord_no, ln_no) DO UPDATE SET qty = ordln.qty + 1',
          [order, n % 3],
        );
        if (n % 5 === 0) await c.query('DELETE FROM ordln WHERE ord_no = $1 AND ln_no = 0', [order]);
      }
    }
    await c.query('COMMIT');
    this.committed++;
  }
}

/** The routes of `source` as `sluice run` builds them from this config. */
export function legacyRoutes(source: string, prefix = 'sluice'): SourceRoutes {
  const cfg = parseConfig({
    nats: { subjectPrefix: prefix },
    sources: [{ name: source, kind: 'postgres', url: 'postgres://x/y', tables: LEGACY_TABLES }],
    api: legacyApi(source),
  });
  return new SourceRoutes(source, cfg.api!.resources, cfg.nats.subjectPrefix);
}

interface Expected {
  subject: string;
  id: string;
  key: unknown;
  event: unknown;
}

/** The raw stream mapped through the resources, in raw stream order. */
export function mapRawStream(
  raw: readonly StoredEvent[],
  routes: SourceRoutes,
  prefix = 'sluice',
): Expected[] {
  const out: Expected[] = [];
  for (const r of raw) {
    const t = rawTable(prefix, r.subject);
    if (!t) continue;
    for (const m of routes.for(t.schema, t.table))
      for (const e of m.map(r.event as never, r.msgId, r.key as Record<string, unknown>))
        out.push({ subject: e.subject, id: e.event.id, key: e.key, event: e.event });
  }
  return out;
}

/**
 * The resource events equal the mapped raw stream (order included), none lost or doubled, every
 * one valid; replaying them gives each table's rows in API shape. Returns counts for the log.
 */
export async function checkResourceEvents(
  raw: readonly StoredEvent[],
  stored: readonly StoredEvent[],
  routes: SourceRoutes,
  pgUrl: string,
  prefix = 'sluice',
): Promise<{ raw: number; resource: number }> {
  const expected = mapRawStream(raw, routes, prefix);
  const actual = stored.map((s) => ({ subject: s.subject, id: s.msgId, key: s.key, event: s.event }));
  const ids = new Set(actual.map((a) => a.id));
  expect(ids.size).toBe(actual.length); // nothing doubled
  for (const a of actual) expect(resourceEventSchema.safeParse(a.event).success).toBe(true);
  // Per key, in order (the weaker property webhooks rely on), then the whole order.
  const byKey = (list: Expected[]) => {
    const m = new Map<string, string[]>();
    for (const e of list) {
      const k = `${e.subject.split('.')[2]}|${JSON.stringify(e.key)}`;
      m.set(k, [...(m.get(k) ?? []), e.id]);
    }
    return m;
  };
  expect(byKey(actual)).toEqual(byKey(expected));
  expect(actual).toEqual(expected);

  // Independent of the mapper: replay into rows and compare with the tables through the mappings.
  await expectReplayEqualsTables(actual, routes, pgUrl, raw);
  return { raw: raw.length, resource: actual.length };
}

/**
 * Replaying `events` (in stream order, or at least in order per key, as a webhook receiver gets
 * them) gives each mapped table's rows in API shape. `raw`, when given, explains a difference.
 */
export async function expectReplayEqualsTables(
  events: readonly { readonly event: unknown }[],
  routes: SourceRoutes,
  pgUrl: string,
  raw: readonly StoredEvent[] = [],
): Promise<void> {
  const states = await readTableStates(pgUrl, ['public.custmast', 'public.ordln']);
  for (const m of routes.mappers) {
    const model = new Map<string, unknown>();
    for (const a of events) {
      const e = resourceEventSchema.parse(a.event);
      if (!e.type.startsWith(`${m.resource}.`)) continue;
      if (e.type.endsWith('.truncated')) model.clear();
      else if (e.type.endsWith('.deleted')) model.delete(e.subject!);
      else model.set(e.subject!, e.data.after);
    }
    const table = m.mapping.spec.table.includes('.')
      ? m.mapping.spec.table
      : `public.${m.mapping.spec.table}`;
    const visible = m.mapping.allFields.filter((f) => !m.hidden.has(f.name));
    const rows = new Map(
      states.get(table)!.rows.map((r) => {
        const api = m.mapping.toApi(r, visible);
        return [
          m.mapping.key.map((k) => String(api[k.name]).replace(/%/g, '%25').replace(/,/g, '%2C')).join(','),
          api,
        ];
      }),
    );
    const differs = [...new Set([...model.keys(), ...rows.keys()])].find(
      (k) => JSON.stringify(model.get(k)) !== JSON.stringify(rows.get(k)),
    );
    // On a difference, the history of that key (resource and raw events) says which side is off.
    if (differs !== undefined) console.log(history(m.resource, differs, events, raw));
    expect(model).toEqual(rows);
  }
}

function history(
  resource: string,
  key: string,
  actual: readonly { readonly subject?: string; readonly event: unknown }[],
  raw: readonly StoredEvent[],
): string {
  const lines = [`${resource} ${key} differs from the table; its events:`];
  for (const a of actual)
    if (JSON.stringify(a.event).includes(key))
      lines.push(`  resource ${a.subject ?? ''} ${JSON.stringify(a.event)}`);
  for (const r of raw)
    if (JSON.stringify(r.event).includes(key.trim()))
      lines.push(
        `  raw #${r.seq} ${r.subject} ${JSON.stringify({ before: r.event.before, after: r.event.after })}`,
      );
  return lines.join('\n');
}

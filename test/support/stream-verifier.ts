// Replays a source's events into a model of each table and compares it with the database.
// Used by the crash tests and the fault suite: it counts what arrived, what is missing and what
// is duplicated, without trusting anything the pipeline says about itself.
//
// - duplicates: two stored events for one change (same table, op and source position: a
//   snapshot row's key, or a streamed change's LSN);
// - chain breaks: where the source sends full before images (REPLICA IDENTITY FULL), each update
//   or delete must start from the row the model holds; a break means a change went missing;
// - final state: after replay, each table must equal the database's rows (a multiset of rows for
//   tables without a key).

export interface VerifiedEvent {
  readonly op: string;
  readonly table: string; // schema.table
  readonly key: Record<string, unknown>;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly lsn?: string;
  readonly snapshot: boolean;
}

export interface TableReport {
  table: string;
  events: number;
  modelRows: number;
  databaseRows: number;
  missingRows: number;
  extraRows: number;
  differentRows: number;
  chainBreaks: number;
}

export interface VerifyReport {
  events: number;
  duplicates: number;
  chainBreaks: number;
  lost: number;
  tables: TableReport[];
  ok: boolean;
  examples: string[];
}

export function toVerifiedEvent(e: Record<string, unknown>, key: unknown): VerifiedEvent {
  const source = e.source as { schema: string; table: string; lsn?: string; snapshot?: string };
  return {
    op: e.op as string,
    table: `${source.schema}.${source.table}`,
    key: (key ?? {}) as Record<string, unknown>,
    before: (e.before as Record<string, unknown> | null) ?? null,
    after: (e.after as Record<string, unknown> | null) ?? null,
    lsn: source.lsn,
    snapshot: source.snapshot === 'true' || source.snapshot === 'last',
  };
}

const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );

/**
 * `database` maps each table to its current rows (decoded the same way as events) and its key
 * columns (empty for keyless tables). `fullBefore` names tables whose events carry whole before images.
 */
export function verifyStream(
  events: readonly VerifiedEvent[],
  database: ReadonlyMap<string, { key: readonly string[]; rows: readonly Record<string, unknown>[] }>,
  fullBefore: ReadonlySet<string> = new Set(),
): VerifyReport {
  const examples: string[] = [];
  const note = (s: string) => {
    if (examples.length < 20) examples.push(s);
  };
  const seen = new Set<string>();
  let duplicates = 0;
  const models = new Map<string, Map<string, Record<string, unknown>>>();
  const keyless = new Map<string, Map<string, number>>();
  const chain = new Map<string, number>();
  const counts = new Map<string, number>();

  for (const e of events) {
    counts.set(e.table, (counts.get(e.table) ?? 0) + 1);
    const spec = database.get(e.table);
    const keyCols = spec?.key ?? [];
    // Each key is read once by a snapshot; each streamed change has its own LSN.
    const identity = e.snapshot ? `${e.table}|r|${stable(e.key)}` : `${e.table}|${e.op}|${e.lsn}`;
    if (seen.has(identity) && (keyCols.length > 0 || !e.snapshot)) {
      duplicates++;
      note(`duplicate ${identity}`);
      continue;
    }
    seen.add(identity);
    if (keyCols.length === 0) {
      const bag = keyless.get(e.table) ?? new Map<string, number>();
      keyless.set(e.table, bag);
      if (e.op === 'r' || e.op === 'c') bag.set(stable(e.after), (bag.get(stable(e.after)) ?? 0) + 1);
      else if (e.op === 't') bag.clear();
      else if (e.before) {
        const k = stable(e.before);
        const n = bag.get(k) ?? 0;
        if (n <= 1) bag.delete(k);
        else bag.set(k, n - 1);
        if (e.op === 'u' && e.after) bag.set(stable(e.after), (bag.get(stable(e.after)) ?? 0) + 1);
      }
      continue;
    }
    const model = models.get(e.table) ?? new Map<string, Record<string, unknown>>();
    models.set(e.table, model);
    if (e.op === 't') {
      model.clear();
      continue;
    }
    const keyOf = (row: Record<string, unknown>) => stable(keyCols.map((k) => row[k]));
    const checkChain = (kind: string) => {
      if (!fullBefore.has(e.table) || !e.before) return;
      const cur = model.get(keyOf(e.before));
      if (!cur || stable(cur) !== stable(e.before)) {
        chain.set(e.table, (chain.get(e.table) ?? 0) + 1);
        note(
          `chain break on ${kind} ${e.table} ${keyOf(e.before)}: model ${stable(cur)} vs before ${stable(e.before)}`,
        );
      }
    };
    switch (e.op) {
      case 'r':
      case 'c':
        if (e.after) model.set(keyOf(e.after), e.after);
        break;
      case 'u':
        checkChain('update');
        if (e.before) model.delete(keyOf(e.before));
        if (e.after) {
          // Columns the source did not send (unchanged TOAST) keep the model's value.
          const prev = model.get(keyOf(e.after));
          model.set(keyOf(e.after), { ...(prev ?? {}), ...e.after });
        }
        break;
      case 'd':
        checkChain('delete');
        if (e.before) model.delete(keyOf(e.before));
        break;
      default:
        note(`unknown op ${e.op}`);
    }
  }

  const tables: TableReport[] = [];
  let lost = 0;
  for (const [table, spec] of database) {
    const rep: TableReport = {
      table,
      events: counts.get(table) ?? 0,
      modelRows: 0,
      databaseRows: spec.rows.length,
      missingRows: 0,
      extraRows: 0,
      differentRows: 0,
      chainBreaks: chain.get(table) ?? 0,
    };
    if (spec.key.length === 0) {
      const bag = new Map(keyless.get(table) ?? []);
      rep.modelRows = [...bag.values()].reduce((a, b) => a + b, 0);
      for (const row of spec.rows) {
        const k = stable(row);
        const n = bag.get(k) ?? 0;
        if (n === 0) {
          rep.missingRows++;
          note(`missing row in ${table}: ${k}`);
        } else bag.set(k, n - 1);
      }
      rep.extraRows = [...bag.values()].reduce((a, b) => a + b, 0);
    } else {
      const model = models.get(table) ?? new Map();
      rep.modelRows = model.size;
      const keyOf = (row: Record<string, unknown>) => stable(spec.key.map((k) => row[k]));
      const dbKeys = new Set<string>();
      for (const row of spec.rows) {
        const k = keyOf(row);
        dbKeys.add(k);
        const m = model.get(k);
        if (!m) {
          rep.missingRows++;
          note(`missing row in ${table}: ${k}`);
        } else if (stable(m) !== stable(row)) {
          rep.differentRows++;
          note(`different row in ${table} ${k}: stream ${stable(m)} vs database ${stable(row)}`);
        }
      }
      for (const k of model.keys())
        if (!dbKeys.has(k)) {
          rep.extraRows++;
          note(`row in stream but not in database: ${table} ${k}`);
        }
    }
    lost += rep.missingRows + rep.differentRows + rep.extraRows + rep.chainBreaks;
    tables.push(rep);
  }
  const chainBreaks = [...chain.values()].reduce((a, b) => a + b, 0);
  return {
    events: events.length,
    duplicates,
    chainBreaks,
    lost,
    tables,
    ok: duplicates === 0 && lost === 0,
    examples,
  };
}

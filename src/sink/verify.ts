// `sluice verify`: compares a source table with its sink table through the mapping, by chunked key
// ranges whose row count and checksum each database computes itself (SqlDialect.chunkHashSql),
// bisecting a differing range until it is small enough to compare its rows (the data-diff /
// pt-table-checksum approach). Where the two databases' checksums cannot agree (no hash function,
// codecs that change values, text that renders differently) the table is compared by rows instead:
// slower, never wrong.
import type { Knex } from 'knex';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { TargetTable } from './sink-mapping.js';
import { sameDbValue } from './verify-values.js';

type Row = Record<string, unknown>;
type Bound = readonly unknown[] | null;

export interface VerifySide {
  readonly knex: Knex;
  readonly dialect: SqlDialect;
}

/** One table pair: the source table's key and compared columns, and where they land. */
export interface VerifyTable {
  /** Source `schema.table`, as reports name it. */
  readonly name: string;
  readonly source: {
    readonly table: string;
    readonly key: readonly string[];
    readonly columns: readonly string[];
  };
  readonly target: TargetTable;
}

export interface RowDifference {
  readonly table: string;
  readonly kind: 'changed' | 'missing' | 'extra';
  /** The key in source column names (the target's, for an extra row). */
  readonly key: Row;
  /** Target columns whose values differ (changed rows). */
  readonly columns?: readonly string[];
  readonly source?: Row;
  readonly target?: Row;
}

export interface TableReport {
  readonly table: string;
  readonly target: string;
  readonly mode: 'checksum' | 'rows';
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly chunks: number;
  readonly differences: RowDifference[];
}

export interface VerifyOptions {
  /** Rows per top-level chunk. */
  readonly chunkSize: number;
  /** At or below this many rows a differing range is compared row by row. */
  readonly leafSize: number;
  readonly onProgress?: (table: string, rowsDone: number, rowsTotal: number) => void;
}

/** A key's identity across databases: each value as text (7 and '7' are one key). */
const keyId = (values: readonly unknown[]) =>
  JSON.stringify(
    values.map((v) =>
      v === null || v === undefined
        ? null
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v as string | number),
    ),
  );

export class Verifier {
  constructor(
    readonly src: VerifySide,
    readonly dst: VerifySide,
    readonly opts: VerifyOptions,
  ) {}

  async table(t: VerifyTable): Promise<TableReport> {
    const cols = this.#columns(t);
    const tk = t.target.key(Object.fromEntries(t.source.key.map((k) => [k, null])));
    const targetKey = Object.keys(tk);
    // Source key values as the target holds them (a resource's key codecs), for ranges and ids.
    const toTargetKey = (values: readonly unknown[]) => {
      const k = t.target.key(Object.fromEntries(t.source.key.map((c, i) => [c, values[i]])));
      return targetKey.map((c) => k[c]);
    };
    const sides = {
      src: {
        ...this.src,
        table: t.source.table,
        key: t.source.key,
        cols: cols.map((c) => c[0]),
        bound: (b: Bound) => b,
      },
      dst: {
        ...this.dst,
        table: t.target.table,
        key: targetKey,
        cols: cols.map((c) => c[1]),
        bound: (b: Bound) => (b === null ? null : toTargetKey(b)),
      },
    };
    const [sourceRows, targetRows] = await Promise.all([count(sides.src), count(sides.dst)]);
    const srcHash = this.src.dialect.chunkHashSql(sides.src.cols);
    const dstHash = this.dst.dialect.chunkHashSql(sides.dst.cols);
    let mode: TableReport['mode'] = srcHash && dstHash ? 'checksum' : 'rows';
    const missing = new Map<string, Row>();
    const extra = new Map<string, Row>();
    let done = 0;
    let chunks = 0;
    let first = true;

    const compareRows = async (lo: Bound, hi: Bound): Promise<boolean> => {
      const [a, b] = await Promise.all([rows(sides.src, lo, hi), rows(sides.dst, lo, hi)]);
      let equal = true;
      const bById = new Map(b.map((r) => [keyId(targetKey.map((k) => r[k])), r]));
      for (const r of a) {
        const id = keyId(toTargetKey(t.source.key.map((k) => r[k])));
        const other = bById.get(id);
        if (!other) {
          missing.set(id, r);
          equal = false;
        } else {
          bById.delete(id);
          if (this.#changed(t, r, other).length > 0) {
            missing.set(id, r);
            extra.set(id, other);
            equal = false;
          }
        }
      }
      for (const [id, r] of bById) {
        extra.set(id, r);
        equal = false;
      }
      return equal;
    };

    const checksum = async (lo: Bound, hi: Bound) =>
      Promise.all([sums(sides.src, srcHash!, lo, hi), sums(sides.dst, dstHash!, lo, hi)]);

    const bisect = async (lo: Bound, hi: Bound, n: number): Promise<void> => {
      if (n <= this.opts.leafSize) {
        await compareRows(lo, hi);
        return;
      }
      const mid = await nthKey(sides.src, lo, hi, Math.floor(n / 2));
      if (mid === null) {
        await compareRows(lo, hi);
        return;
      }
      for (const [l, h] of [
        [lo, mid],
        [mid, hi],
      ] as const) {
        const [a, b] = await checksum(l, h);
        if (a.n !== b.n || a.h !== b.h) await bisect(l, h, Math.max(a.n, b.n));
      }
    };

    let lo: Bound = null;
    for (;;) {
      const hi = await nthKey(sides.src, lo, null, this.opts.chunkSize - 1);
      chunks++;
      if (mode === 'checksum') {
        const [a, b] = await checksum(lo, hi);
        if (a.n !== b.n || a.h !== b.h) {
          // The first differing chunk tells whether the two checksums can agree at all: when its
          // rows compare equal, they cannot (types render differently), so compare by rows.
          if (first && a.n === b.n) {
            if (await compareRows(lo, hi)) mode = 'rows';
          } else await bisect(lo, hi, Math.max(a.n, b.n));
        }
      } else await compareRows(lo, hi);
      first = false;
      done = Math.min(sourceRows, done + this.opts.chunkSize);
      this.opts.onProgress?.(t.name, hi === null ? sourceRows : done, sourceRows);
      if (hi === null) break;
      lo = hi;
    }
    return {
      table: t.name,
      target: t.target.table,
      mode,
      sourceRows,
      targetRows,
      chunks,
      differences: this.#reconcile(t, missing, extra),
    };
  }

  /** Reads the rows of `keys` (source key values) again on both sides; returns the ones still different. */
  async recheck(t: VerifyTable, diffs: readonly RowDifference[]): Promise<RowDifference[]> {
    const cols = this.#columns(t);
    const out: RowDifference[] = [];
    for (const d of diffs) {
      const srcKey = d.kind === 'extra' ? null : d.key;
      const dstKey = d.kind === 'extra' ? d.key : t.target.key(d.key);
      const a = srcKey
        ? ((await this.src
            .knex(t.source.table)
            .select(cols.map((c) => c[0]))
            .where(srcKey)
            .first()) as Row | undefined)
        : undefined;
      const b = (await this.dst
        .knex(t.target.table)
        .select(cols.map((c) => c[1]))
        .where(dstKey)
        .first()) as Row | undefined;
      if (!a && !b) continue;
      if (a && b) {
        const changed = this.#changed(t, a, b);
        if (changed.length > 0) out.push({ ...d, kind: 'changed', columns: changed, source: a, target: b });
      } else if (a) out.push({ table: d.table, kind: 'missing', key: d.key, source: a });
      else if (d.kind === 'extra') out.push({ ...d, target: b! });
      else out.push({ table: d.table, kind: 'extra', key: dstKey, target: b! });
    }
    return out;
  }

  /** [source column, target column] pairs compared, key columns first. */
  #columns(t: VerifyTable): [string, string][] {
    const mapped = t.target.row(Object.fromEntries(t.source.columns.map((c) => [c, null])));
    const names = Object.keys(mapped);
    const pairs: [string, string][] = [];
    for (const c of t.source.columns) {
      const one = Object.keys(t.target.row({ [c]: null }));
      if (one.length === 1 && names.includes(one[0]!)) pairs.push([c, one[0]!]);
    }
    return pairs;
  }

  #changed(t: VerifyTable, sourceRow: Row, targetRow: Row): string[] {
    const want = t.target.row(sourceRow);
    return Object.keys(want).filter((c) => !sameDbValue(want[c], targetRow[c]));
  }

  /**
   * A row found missing in one range and extra in another (two databases ordering text keys
   * differently) is no difference; a key both missing and extra is a changed row.
   */
  #reconcile(t: VerifyTable, missing: Map<string, Row>, extra: Map<string, Row>): RowDifference[] {
    const out: RowDifference[] = [];
    const keyOf = (r: Row, key: readonly string[]) => Object.fromEntries(key.map((k) => [k, r[k]]));
    const targetKey = Object.keys(t.target.key(Object.fromEntries(t.source.key.map((k) => [k, null]))));
    for (const [id, a] of missing) {
      const b = extra.get(id);
      if (b) {
        extra.delete(id);
        const columns = this.#changed(t, a, b);
        if (columns.length > 0)
          out.push({
            table: t.name,
            kind: 'changed',
            key: keyOf(a, t.source.key),
            columns,
            source: a,
            target: b,
          });
      } else out.push({ table: t.name, kind: 'missing', key: keyOf(a, t.source.key), source: a });
    }
    for (const b of extra.values())
      out.push({ table: t.name, kind: 'extra', key: keyOf(b, targetKey), target: b });
    return out;
  }
}

interface Side extends VerifySide {
  readonly table: string;
  /** Source key values → this side's key values. */
  readonly bound: (b: Bound) => Bound;
  readonly key: readonly string[];
  readonly cols: readonly string[];
}

/** `lo < key <= hi` (null: unbounded), with row-value comparison for composite keys. */
function inRange(qb: Knex.QueryBuilder, s: Side, srcLo: Bound, srcHi: Bound): Knex.QueryBuilder {
  const lo = s.bound(srcLo);
  const hi = s.bound(srcHi);
  const tuple = `(${s.key.map(() => '??').join(', ')})`;
  const params = `(${s.key.map(() => '?').join(', ')})`;
  if (lo) qb.whereRaw(`${tuple} > ${params}`, [...s.key, ...(lo as Knex.Value[])]);
  if (hi) qb.whereRaw(`${tuple} <= ${params}`, [...s.key, ...(hi as Knex.Value[])]);
  return qb;
}

async function count(s: Side): Promise<number> {
  const r = (await s.knex(s.table).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(r?.n ?? 0);
}

async function sums(s: Side, hashSql: string, lo: Bound, hi: Bound): Promise<{ n: number; h: string }> {
  const q = inRange(
    s.knex(s.table).select(s.knex.raw('COUNT(*) AS n'), s.knex.raw(`${hashSql} AS h`)),
    s,
    lo,
    hi,
  );
  const r = (await q.first()) as { n: number | string; h: unknown };
  return { n: Number(r.n), h: String(r.h) };
}

/** The key `offset` rows after `lo` (within `hi`), or null when the range has fewer rows. */
async function nthKey(s: Side, lo: Bound, hi: Bound, offset: number): Promise<Bound> {
  const q = inRange(s.knex(s.table).select([...s.key]), s, lo, hi)
    .orderBy(s.key.map((k) => ({ column: k })))
    .offset(offset)
    .limit(1);
  const r = (await q.first()) as Row | undefined;
  return r ? s.key.map((k) => r[k]) : null;
}

async function rows(s: Side, lo: Bound, hi: Bound): Promise<Row[]> {
  return (await inRange(s.knex(s.table).select([...new Set([...s.key, ...s.cols])]), s, lo, hi).orderBy(
    s.key.map((k) => ({ column: k })),
  )) as Row[];
}

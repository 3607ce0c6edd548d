// ?embed=<relation>: related rows for a whole page in one extra query per relation (never one per row).
import { asText, type DbValue } from '../core/codecs.js';
import type { DbRow } from '../resources/resource-store.js';
import type { Principal } from './auth.js';
import { fullLookup, viewFor, type ResourceRuntime } from './resource-runtime.js';

/** Columns of `r` that relations need on each row, so lists can select them. */
export function relationColumns(r: ResourceRuntime, embed: readonly string[]): string[] {
  const cols: string[] = [];
  for (const name of embed)
    for (const local of Object.keys(r.config.relations[name]!.on)) cols.push(r.mapping.field(local)!.column);
  return cols;
}

// Values of two tables may differ in form (CHAR padding, int8 as text): compare a normal form.
const norm = (v: unknown) => asText(v)?.trimEnd() ?? '\u0000';
const tupleKey = (values: readonly unknown[]) => values.map(norm).join('\u0001');

/** Adds `out[i][relation]` for each relation in `embed`, reading each related resource once. */
export async function attachEmbeds(
  parent: ResourceRuntime,
  resources: ReadonlyMap<string, ResourceRuntime>,
  principal: Principal,
  embed: readonly string[],
  rows: readonly DbRow[],
  out: Record<string, unknown>[],
): Promise<void> {
  for (const relName of embed) {
    const rel = parent.config.relations[relName]!;
    const target = resources.get(rel.resource)!;
    target.policy.check(principal, 'read');
    const view = viewFor(target, principal);
    const pairs = Object.entries(rel.on).map(([local, remote]) => ({
      local: parent.mapping.field(local)!.column,
      remote: target.mapping.field(remote)!.column,
    }));
    const seen = new Map<string, DbValue[]>();
    for (const row of rows) {
      const t = pairs.map((p) => row[p.local] as DbValue);
      if (t.some((v) => v === null || v === undefined)) continue;
      seen.set(tupleKey(t), t);
    }
    const visible = [...target.mapping.fields.values()].filter((f) => !view.hidden.has(f.name));
    const related = await target.store.whereIn(
      pairs.map((p) => p.remote),
      [...seen.values()],
      view.rowFilters,
      fullLookup(target),
      visible.map((f) => f.column),
    );
    const groups = new Map<string, Record<string, unknown>[]>();
    const toApi = target.mapping.converter(visible);
    for (const r of related) {
      const k = tupleKey(pairs.map((p) => r[p.remote]));
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(toApi(r));
    }
    rows.forEach((row, i) => {
      const g = groups.get(tupleKey(pairs.map((p) => row[p.local]))) ?? [];
      out[i]![relName] = rel.kind === 'one' ? (g[0] ?? null) : g;
    });
  }
}

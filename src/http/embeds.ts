// ?embed=<relation>: related rows for a whole page in one extra query per relation and per chunk of
// parent keys (never one per row). Children per parent are bounded (`api.embedLimit`); a parent
// with more gets `<relation>@next`, the link to the rest in the child collection (docs/rest-api.md).
import { asText, type DbValue } from '../core/codecs.js';
import { encodeCursor } from '../resources/cursor.js';
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

export interface EmbedDeps {
  readonly resources: ReadonlyMap<string, ResourceRuntime>;
  /** `api.basePath` without a trailing slash ('' for '/'). */
  readonly basePath: string;
  /** Most children embedded per parent of a `many` relation. */
  readonly embedLimit: number;
}

/** A filter value's text for the URL, quoted as the filter grammar reads strings back verbatim. */
const filterText = (v: unknown) =>
  encodeURIComponent(typeof v === 'string' ? `"${v.replace(/["\\]/g, '\\$&')}"` : JSON.stringify(v));

/**
 * Adds `out[i][relation]` for each relation in `embed`, reading each related resource once per
 * chunk of keys. A `many` relation embeds at most `embedLimit` children per parent, in key order;
 * when there are more, `out[i]['<relation>@next']` links to the next ones.
 */
export async function attachEmbeds(
  parent: ResourceRuntime,
  deps: EmbedDeps,
  principal: Principal,
  embed: readonly string[],
  rows: readonly DbRow[],
  out: Record<string, unknown>[],
): Promise<void> {
  for (const relName of embed) {
    const rel = parent.config.relations[relName]!;
    const target = deps.resources.get(rel.resource)!;
    const per = rel.kind === 'one' ? 1 : deps.embedLimit;
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
    const related = await target.store.related(
      pairs.map((p) => p.remote),
      [...seen.values()],
      view.rowFilters,
      fullLookup(target),
      visible.map((f) => f.column),
      per,
    );
    const groups = new Map<string, DbRow[]>();
    for (const r of related) {
      const k = tupleKey(pairs.map((p) => r[p.remote]));
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(r);
    }
    const toApi = target.mapping.converter(visible);
    const { terms, text } = target.store.ordering([]);
    const remoteFields = Object.values(rel.on).map((name) => target.mapping.field(name)!);
    rows.forEach((row, i) => {
      const g = groups.get(tupleKey(pairs.map((p) => row[p.local]))) ?? [];
      if (rel.kind === 'one') {
        out[i]![relName] = g[0] ? toApi(g[0]) : null;
        return;
      }
      out[i]![relName] = g.slice(0, per).map((r) => toApi(r));
      if (g.length > per) {
        // The rest: the child collection filtered on the relation, after the last embedded child.
        const last = g[per - 1]!;
        const filters = remoteFields
          .map((f) => `${f.name}=eq.${filterText(f.codec.decode(last[f.column] as DbValue))}`)
          .join('&');
        const cursor = encodeCursor(
          text,
          terms.map((t) => last[t.field.column]),
        );
        out[i]![`${relName}@next`] =
          `${deps.basePath}/${target.name}?${filters}&limit=${per}&cursor=${cursor}`;
      }
    });
  }
}

// GET /<resource> (keyset list with filters, order, select, embed, counts) and GET /<resource>/<key>.
import type { Context } from 'hono';
import type { ListLimits } from './list-params.js';
import { parseEmbed, parseKeyText, parseListParams, parseSelect } from './list-params.js';
import { attachEmbeds, relationColumns, type EmbedDeps } from './embeds.js';
import { etagOf, ifNoneMatchHit } from './etag.js';
import { jsonResponse } from './json-response.js';
import { parsePrefer, preferenceApplied } from './prefer.js';
import { NotFoundProblem } from './problem.js';
import { fullLookup, viewFor, type ResourceRuntime } from './resource-runtime.js';
import type { AppEnv } from './env.js';

export interface ReadDeps extends EmbedDeps {
  readonly limits: ListLimits;
}

/** Raw (still percent-encoded) key text after `<basePath>/<resource>/`. */
export function rawKey(c: Context<AppEnv>, collectionPath: string, url = new URL(c.req.url)): string {
  return url.pathname.slice(collectionPath.length + 1);
}

/**
 * The request's path and query with `cursor` set: appended to the query as sent when it has no
 * cursor yet (cursors are base64url, nothing to encode), else the query re-serialized.
 */
export function nextPageLink(url: URL, cursor: string): string {
  if (!url.searchParams.has('cursor'))
    return `${url.pathname}${url.search === '' ? '?' : `${url.search}&`}cursor=${cursor}`;
  const next = new URLSearchParams(url.searchParams);
  next.set('cursor', cursor);
  return `${url.pathname}?${next.toString()}`;
}

export async function listHandler(c: Context<AppEnv>, r: ResourceRuntime, deps: ReadDeps): Promise<Response> {
  const principal = c.get('principal');
  r.policy.check(principal, 'read');
  const view = viewFor(r, principal);
  const url = new URL(c.req.url);
  const params = parseListParams(
    url.searchParams,
    r.mapping,
    view.hidden,
    Object.keys(r.config.relations),
    deps.limits,
  );
  const prefer = parsePrefer(c.req.header('prefer'));
  const filters = [...params.filters, ...view.rowFilters];
  const lookup = fullLookup(r);
  const extra = relationColumns(r, params.embed).map((col) =>
    [...r.mapping.fields.values()].find((f) => f.column === col)!,
  );
  const listing = r.store.list({
    filters,
    lookup,
    order: params.order,
    limit: params.limit,
    cursor: params.cursor,
    fields: extra.length > 0 ? [...params.fields, ...extra] : params.fields,
  });
  const [page, count] = prefer.count
    ? await Promise.all([listing, r.store.count(filters, lookup, prefer.count)])
    : [await listing, undefined];
  const toApi = r.mapping.converter(params.fields);
  const data = page.rows.map((row) => toApi(row));
  if (params.embed.length > 0) await attachEmbeds(r, deps, principal, params.embed, page.rows, data);

  const headers: Record<string, string> = {};
  if (page.next !== null) {
    headers.link = `<${nextPageLink(url, page.next)}>; rel="next"`;
  }
  if (count !== undefined)
    headers['content-range'] = `${data.length === 0 ? '*' : `0-${data.length - 1}`}/${count}`;
  const applied = preferenceApplied({ ...(prefer.count ? { count: prefer.count } : {}) });
  if (applied) headers['preference-applied'] = applied;
  return jsonResponse({ data, next: page.next, ...(count !== undefined ? { count } : {}) }, 200, headers);
}

export async function getHandler(
  c: Context<AppEnv>,
  r: ResourceRuntime,
  deps: ReadDeps,
  collectionPath: string,
): Promise<Response> {
  const principal = c.get('principal');
  r.policy.check(principal, 'read');
  const view = viewFor(r, principal);
  const url = new URL(c.req.url);
  const key = r.mapping.keyToDb(parseKeyText(rawKey(c, collectionPath, url), r.mapping));
  const params = url.searchParams;
  const fields = parseSelect(params, r.mapping, view.hidden);
  const embed = parseEmbed(params, Object.keys(r.config.relations));
  const row = await r.store.get(r.store.db.knex, key, view.rowFilters, fullLookup(r));
  if (!row)
    throw new NotFoundProblem(`no ${r.name} with key ${decodeURIComponent(rawKey(c, collectionPath, url))}`);
  const etag = etagOf(row, r.store.allColumns());
  const inm = c.req.header('if-none-match');
  if (inm !== undefined && ifNoneMatchHit(inm, etag)) return c.body(null, 304, { etag });
  const out = [r.mapping.toApi(row, fields)];
  if (embed.length > 0) await attachEmbeds(r, deps, principal, embed, [row], out);
  return jsonResponse(out[0], 200, { etag });
}

// POST, PUT, PATCH and DELETE on a resource: bodies validated by the resource's zod schemas,
// If-Match against the row's ETag inside the write's transaction, Idempotency-Key on POST,
// Prefer: return=minimal|representation.
import type { Context } from 'hono';
import type { Knex } from 'knex';
import type { z } from 'zod';
import type { DbKey, DbRow } from '../resources/resource-store.js';
import type { DbValue } from '../core/codecs.js';
import { etagOf, ifMatchSatisfied } from './etag.js';
import type { AppEnv } from './env.js';
import { requestFingerprint, type StoredResponse } from './idempotency.js';
import { parseKeyText } from './list-params.js';
import { parsePrefer } from './prefer.js';
import {
  BadRequestProblem,
  ForbiddenProblem,
  NotFoundProblem,
  PreconditionFailedProblem,
  UnprocessableProblem,
  UnsupportedMediaTypeProblem,
  zodIssues,
} from './problem.js';
import { rawKey } from './resource-reads.js';
import { fullLookup, viewFor, type ResourceRuntime } from './resource-runtime.js';

async function readBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type))
    throw new UnsupportedMediaTypeProblem('send the body as application/json');
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestProblem('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new UnprocessableProblem('the body must be a JSON object', [
      { path: '(body)', message: 'expected an object' },
    ]);
  return body as Record<string, unknown>;
}

function validate(schema: z.ZodObject, body: unknown): Record<string, unknown> {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new UnprocessableProblem('the body does not match the resource schema', zodIssues(r.error.issues));
  return r.data;
}

/** Key fields in a PUT/PATCH body must repeat the URL's key; keys are never changed in place. */
function checkKeyUnchanged(r: ResourceRuntime, body: Record<string, unknown>, key: DbKey): void {
  const issues = r.mapping.key
    .filter(
      (f) =>
        body[f.name] !== undefined &&
        (body[f.name] === null || f.codec.encode(body[f.name]) !== key[f.column]),
    )
    .map((f) => ({ path: f.name, message: 'differs from the key in the URL (keys cannot be changed)' }));
  if (issues.length > 0) throw new UnprocessableProblem('the body changes the key', issues);
}

/**
 * Row-filtered callers may only write rows they would see: the filtered fields a write sets must
 * hold the caller's claim. `all` (create, replace) treats a field the write leaves out as a
 * mismatch; a patch only checks the fields it sets. The stored row is checked again after the
 * write (`checkStoredRow`): this early check only gives the clearer message.
 */
function checkRowFilterValues(
  r: ResourceRuntime,
  values: Record<string, DbValue>,
  filters: ReturnType<ResourceRuntime['policy']['rowFilters']>,
  all: boolean,
  what: string,
): void {
  for (const f of filters) {
    if (f.kind !== 'cond') continue;
    const field = r.mapping.field(f.field)!;
    if (!all && values[field.column] === undefined) continue;
    let expected: DbValue;
    try {
      expected = field.codec.encode(field.codec.parseText(f.value as string));
    } catch {
      throw new ForbiddenProblem(`your ${f.field} claim does not fit the field`);
    }
    if (values[field.column] !== expected)
      throw new ForbiddenProblem(`you may only ${what} ${r.name} whose ${f.field} is yours`);
  }
}

/**
 * The row as written must still match the caller's row filters (like PostgreSQL RLS `WITH
 * CHECK`): read back by key with the filters, inside the write's transaction, so a trigger or
 * default that moves the row out of scope is seen too and the throw rolls the write back.
 */
async function checkStoredRow(
  r: ResourceRuntime,
  trx: Knex.Transaction,
  key: DbKey,
  filters: ReturnType<ResourceRuntime['policy']['rowFilters']>,
): Promise<void> {
  if (filters.length === 0) return;
  if (!(await r.store.get(trx, key, filters, fullLookup(r))))
    throw new ForbiddenProblem(
      `the write would move this ${r.name} row out of the rows you may reach (${filters
        .map((f) => (f.kind === 'cond' ? f.field : ''))
        .filter(Boolean)
        .join(', ')}); nothing was changed`,
    );
}

function respond(c: Context<AppEnv>, res: StoredResponse): Response {
  if (res.body === null) return c.body(null, res.status as 201 | 204, res.headers);
  return c.json(res.body as object, res.status as 200 | 201, res.headers);
}

function representation(
  r: ResourceRuntime,
  row: DbRow,
  hidden: ReadonlySet<string>,
): Record<string, unknown> {
  return r.mapping.toApi(
    row,
    [...r.mapping.fields.values()].filter((f) => !hidden.has(f.name)),
  );
}

export async function createHandler(
  c: Context<AppEnv>,
  r: ResourceRuntime,
  collectionPath: string,
): Promise<Response> {
  const principal = c.get('principal');
  r.policy.check(principal, 'create');
  const view = viewFor(r, principal);
  const raw = await readBody(c);
  const body = validate(r.mapping.schemas(view.hidden).create, raw);
  const values = r.mapping.toDb(body);
  checkRowFilterValues(r, values, view.rowFilters, true, 'create');
  const minimal = parsePrefer(c.req.header('prefer')).return === 'minimal';

  const work = async (trx: Knex.Transaction): Promise<StoredResponse> => {
    const key = await r.store.insert(trx, values);
    await checkStoredRow(r, trx, key, view.rowFilters);
    const row = await r.store.get(trx, key, [], fullLookup(r));
    if (!row) throw new NotFoundProblem(`the new ${r.name} row cannot be read back by its key`);
    const keyText = r.mapping.key
      .map((f) => encodeURIComponent(String(f.codec.decode(row[f.column]))))
      .join(',');
    const headers: Record<string, string> = {
      location: `${collectionPath}/${keyText}`,
      etag: etagOf(row, r.store.allColumns()),
      'preference-applied': `return=${minimal ? 'minimal' : 'representation'}`,
    };
    // return=minimal: 204, as PUT and PATCH answer it (the document cannot declare a 201 that
    // sometimes has no body); Location still names the new row.
    return minimal
      ? { status: 204, headers, body: null }
      : { status: 201, headers, body: representation(r, row, view.hidden) };
  };

  const idemKey = c.req.header('idempotency-key');
  if (idemKey === undefined) return respond(c, await r.store.transaction(work));
  if (idemKey === '' || idemKey.length > 200)
    throw new BadRequestProblem('Idempotency-Key: 1 to 200 characters');
  const scope = `${r.name}:${principal.id}`.slice(0, 200);
  return respond(
    c,
    await r.idempotency.run(scope, idemKey, requestFingerprint({ body: raw, minimal }), work),
  );
}

type WriteKind = 'replace' | 'patch' | 'delete';

export async function modifyHandler(
  c: Context<AppEnv>,
  r: ResourceRuntime,
  collectionPath: string,
  kind: WriteKind,
): Promise<Response> {
  const principal = c.get('principal');
  r.policy.check(principal, kind === 'delete' ? 'delete' : 'update');
  const view = viewFor(r, principal);
  const key = r.mapping.keyToDb(parseKeyText(rawKey(c, collectionPath), r.mapping));
  let values: Record<string, DbValue> = {};
  if (kind !== 'delete') {
    const schemas = r.mapping.schemas(view.hidden);
    const body = validate(kind === 'replace' ? schemas.replace : schemas.patch, await readBody(c));
    checkKeyUnchanged(r, body, key);
    if (kind === 'replace')
      // PUT replaces every writable visible field: the ones left out become null.
      for (const f of r.mapping.fields.values())
        if (
          !f.spec.readOnly &&
          !view.hidden.has(f.name) &&
          !r.mapping.key.includes(f) &&
          body[f.name] === undefined
        )
          body[f.name] = null;
    for (const k of r.mapping.key) delete body[k.name];
    values = r.mapping.toDb(body);
    checkRowFilterValues(r, values, view.rowFilters, kind === 'replace', 'write');
  }
  const ifMatch = c.req.header('if-match');
  const minimal = parsePrefer(c.req.header('prefer')).return === 'minimal';

  const res = await r.store.transaction(async (trx): Promise<StoredResponse> => {
    const current = await r.store.get(trx, key, view.rowFilters, fullLookup(r), true);
    if (!current)
      throw new NotFoundProblem(`no ${r.name} with key ${decodeURIComponent(rawKey(c, collectionPath))}`);
    if (ifMatch !== undefined && !ifMatchSatisfied(ifMatch, etagOf(current, r.store.allColumns())))
      throw new PreconditionFailedProblem(
        'If-Match does not match the current ETag: the row changed since you read it',
      );
    if (kind === 'delete') {
      await r.store.delete(trx, key);
      return { status: 204, headers: {}, body: null };
    }
    await r.store.update(trx, key, values);
    await checkStoredRow(r, trx, key, view.rowFilters);
    const row = (await r.store.get(trx, key, [], fullLookup(r)))!;
    const headers = {
      etag: etagOf(row, r.store.allColumns()),
      'preference-applied': `return=${minimal ? 'minimal' : 'representation'}`,
    };
    return minimal
      ? { status: 204, headers, body: null }
      : { status: 200, headers, body: representation(r, row, view.hidden) };
  });
  return respond(c, res);
}

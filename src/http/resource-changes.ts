// GET <basePath>/<resource>/changes: the resource's events as Server-Sent Events, or as long-poll
// JSON with `Accept: application/json` (docs/change-feed.md). The caller's roles, hidden fields and
// row filters apply to every event, as the list filter grammar in the query does.
import type { Context } from 'hono';
import type { ApiConfig } from '../config/api.js';
import { NatsUnavailableError } from '../core/errors.js';
import type { ResourceMapping } from '../core/mapping.js';
import { parseDuration } from '../config/duration.js';
import { FeedPositionGoneError, type ChangeFeed, type FeedStart } from '../delivery/feed/change-feed.js';
import type { FeedItem } from '../delivery/feed/feed-item.js';
import type { FeedSubscription } from '../delivery/feed/feed-subscription.js';
import { compileFeedView, type FeedView } from '../delivery/feed/feed-view.js';
import {
  filterFields,
  parseFilterParam,
  QuerySyntaxError,
  type Filter,
} from '../resources/filter-grammar.js';
import type { AppEnv } from './env.js';
import { eventStream } from './event-stream.js';
import { jsonResponse } from './json-response.js';
import { visibleField } from './list-params.js';
import { GoneProblem, ServiceUnavailableProblem } from './problem.js';
import { fullLookup, viewFor, type ResourceRuntime } from './resource-runtime.js';

/** What the route needs of the feed engine. */
export type ChangeSource = Pick<ChangeFeed, 'subscribe'>;

export interface ChangesDeps {
  /** Absent when the service runs without NATS: the route answers 503. */
  readonly feed: ChangeSource | undefined;
  readonly changes: ApiConfig['changes'];
  readonly limits: { readonly defaultLimit: number; readonly maxLimit: number };
}

/** Query parameters of the feed itself; every other parameter is a filter. */
export const changesParams = ['after', 'from', 'wait', 'limit'] as const;

interface ChangeParams {
  readonly start: FeedStart;
  readonly filters: Filter[];
  readonly wait: number;
  readonly limit: number;
}

function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new QuerySyntaxError(`${name}: give it once`, name);
  return all[0];
}

function token(text: string, param: string): FeedStart {
  if (!/^\d{1,15}$/.test(text))
    throw new QuerySyntaxError(`${param}: expected a resume token (the id of a received event)`, param);
  return { kind: 'after', seq: Number(text) };
}

function parseChangeParams(
  params: URLSearchParams,
  lastEventId: string | undefined,
  mapping: ResourceMapping,
  hidden: ReadonlySet<string>,
  deps: ChangesDeps,
): ChangeParams {
  const after = single(params, 'after');
  const from = single(params, 'from');
  if (from !== undefined && from !== 'start' && from !== 'end')
    throw new QuerySyntaxError('from: expected start or end', 'from');
  if (from !== undefined && after !== undefined)
    throw new QuerySyntaxError('give either after or from, not both', 'from');
  // An EventSource reconnects to the same URL with Last-Event-ID: the header wins over the query.
  const start: FeedStart =
    lastEventId !== undefined && lastEventId.trim() !== ''
      ? token(lastEventId.trim(), 'Last-Event-ID')
      : after !== undefined
        ? token(after, 'after')
        : { kind: from === 'start' ? 'start' : 'end' };

  const waitText = single(params, 'wait');
  let wait = deps.changes.defaultWait;
  if (waitText !== undefined) {
    const ms = parseDuration(waitText);
    if (ms === null) throw new QuerySyntaxError('wait: expected a duration like 500ms, 10s or 1m', 'wait');
    if (ms > deps.changes.maxWait)
      throw new QuerySyntaxError(`wait: at most ${deps.changes.maxWait / 1000}s`, 'wait');
    wait = ms;
  }
  wait = Math.min(wait, deps.changes.maxWait);

  const limitText = single(params, 'limit');
  let limit = deps.limits.defaultLimit;
  if (limitText !== undefined) {
    if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > deps.limits.maxLimit)
      throw new QuerySyntaxError(`limit: expected a whole number from 1 to ${deps.limits.maxLimit}`, 'limit');
    limit = Number(limitText);
  }

  const filters: Filter[] = [];
  for (const [name, value] of params) {
    if ((changesParams as readonly string[]).includes(name)) continue;
    const filter = parseFilterParam(name, value);
    for (const f of filterFields(filter)) visibleField(mapping, hidden, f, name);
    filters.push(filter);
  }
  return { start, filters, wait, limit };
}

/** Long-poll JSON when the client asks for JSON and not for an event stream. */
function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /application\/json/i.test(accept) && !/text\/event-stream/i.test(accept);
}

async function subscribe(deps: ChangesDeps, resource: string, start: FeedStart): Promise<FeedSubscription> {
  if (!deps.feed) throw new ServiceUnavailableProblem('the change feed is not available here (no NATS)');
  try {
    return await deps.feed.subscribe(resource, start);
  } catch (err) {
    if (err instanceof FeedPositionGoneError) throw new GoneProblem(err.message, [], { cause: err });
    if (err instanceof NatsUnavailableError)
      throw new ServiceUnavailableProblem(
        'the change stream cannot be reached right now; retry shortly',
        [],
        {
          cause: err,
          headers: { 'retry-after': '2' },
        },
      );
    throw err;
  }
}

export async function changesHandler(
  c: Context<AppEnv>,
  r: ResourceRuntime,
  deps: ChangesDeps,
): Promise<Response> {
  const principal = c.get('principal');
  r.policy.check(principal, 'read');
  const access = viewFor(r, principal);
  const params = parseChangeParams(
    new URL(c.req.url).searchParams,
    c.req.header('last-event-id'),
    r.mapping,
    access.hidden,
    deps,
  );
  const view = compileFeedView({
    filters: [...params.filters, ...access.rowFilters],
    hidden: access.hidden,
    lookup: fullLookup(r),
  });
  const sub = await subscribe(deps, r.name, params.start);
  const signal = c.req.raw.signal;
  if (signal.aborted) sub.close();
  else signal.addEventListener('abort', () => sub.close(), { once: true });
  return wantsJson(c.req.header('accept'))
    ? longPoll(sub, view, params.wait, params.limit)
    : eventStream(c, sub, view, deps.changes.heartbeat);
}

/**
 * Returns the visible events available now (up to `limit`), or waits up to `wait` for the first
 * one. `next` resumes after the last event this response looked at, shown or not.
 */
async function longPoll(
  sub: FeedSubscription,
  view: FeedView,
  wait: number,
  limit: number,
): Promise<Response> {
  const items = sub.queue[Symbol.asyncIterator]();
  // One read at a time: a read that lost a race is kept for the next turn, never repeated.
  let pending: Promise<IteratorResult<FeedItem>> | undefined;
  const data: { token: string; event: unknown }[] = [];
  let next = sub.after;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), wait);
  });
  try {
    while (data.length < limit) {
      // What the stream held when the request came counts as available: the wait starts after it.
      const catchingUp = sub.state === 'catching-up';
      if (data.length > 0 && sub.queue.size === 0 && !catchingUp) break;
      pending ??= items.next();
      const r = await Promise.race([
        pending,
        catchingUp ? sub.caughtUp.then(() => 'again' as const) : timeout,
      ]);
      if (r === 'again') continue;
      if (r === 'timeout') break;
      pending = undefined;
      if (r.done) break;
      next = r.value.seq;
      const seen = view(r.value.event);
      if (seen !== null) data.push({ token: String(r.value.seq), event: seen });
    }
  } finally {
    clearTimeout(timer);
    sub.close();
  }
  return jsonResponse({ data, next: String(next) }, 200, { 'cache-control': 'no-store' });
}

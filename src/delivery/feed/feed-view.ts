// What one change-feed caller may see of a resource event: its query filters and row filters
// decide whether the event reaches it, and its hidden fields are cut from key/after/before. The
// feed is the change stream of the caller's *view*: an update that moves a row into the view is
// delivered as `created`, one that moves it out as `deleted` (docs/change-feed.md).
import type { Filter } from '../../resources/filter-grammar.js';
import { compileRowPredicate, type RowPredicate } from '../../resources/filter-match.js';
import type { FieldLookup } from '../../resources/query-filters.js';
import { resourceEventTypeSchema, type ResourceEvent } from '../resource-event.js';

/**
 * The event as the caller may see it, or null when it may not see it at all. Returns the very
 * object it was given when nothing changes, so callers can reuse a serialized form.
 */
export type FeedView = (event: ResourceEvent) => ResourceEvent | null;

export interface FeedViewOptions {
  /** The request's list-grammar filters and the caller's row filters, ANDed. */
  readonly filters: readonly Filter[];
  /** Fields the caller never sees. */
  readonly hidden: ReadonlySet<string>;
  /** Every mapped field (row filters may name fields the caller cannot see). */
  readonly lookup: FieldLookup;
}

/** CloudEvents extension attribute on an update rewritten for the caller's view. */
export const viewChangeAttribute = 'sluiceview';

type Row = Readonly<Record<string, unknown>>;

function omit(row: Row | null, hidden: ReadonlySet<string>): Record<string, unknown> | null {
  if (row === null) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!hidden.has(k)) out[k] = v;
  return out;
}

/** `<resource>.<type>` with the type replaced (the resource part may itself hold dots). */
function retype(event: ResourceEvent, type: 'created' | 'deleted'): string {
  return `${event.type.slice(0, event.type.lastIndexOf('.'))}.${type}`;
}

export function compileFeedView(opts: FeedViewOptions): FeedView {
  const { hidden } = opts;
  const match: RowPredicate | null =
    opts.filters.length === 0 ? null : compileRowPredicate(opts.filters, opts.lookup);
  const project = (e: ResourceEvent): ResourceEvent =>
    hidden.size === 0
      ? e
      : {
          ...e,
          data: {
            key: omit(e.data.key, hidden),
            after: omit(e.data.after, hidden),
            before: omit(e.data.before, hidden),
          },
        };
  return (e) => {
    if (match === null) return project(e);
    const { key, after, before } = e.data;
    const parsed = resourceEventTypeSchema.safeParse(e.type.slice(e.type.lastIndexOf('.') + 1));
    if (!parsed.success) return null; // not a type we can judge: never risk showing it
    const type = parsed.data;
    switch (type) {
      case 'truncated':
        // No row in it: every caller's view empties.
        return project(e);
      case 'created':
      case 'snapshot':
        return after !== null && match(after) ? project(e) : null;
      case 'deleted': {
        // Without a before image only the key can be judged; fields it lacks are unknown (no match).
        const row = before ?? key;
        return row !== null && match(row) ? project(e) : null;
      }
      case 'updated': {
        const inAfter = after !== null && match(after);
        // null: the source sent no before image, so whether the row was in view is unknown.
        const inBefore = before === null ? null : match(before);
        if (inAfter && inBefore !== false) return project(e);
        if (inAfter)
          return project({
            ...e,
            type: retype(e, 'created'),
            [viewChangeAttribute]: 'entered',
            data: { key, after, before: null },
          } as ResourceEvent);
        if (inBefore === true)
          return project({
            ...e,
            type: retype(e, 'deleted'),
            [viewChangeAttribute]: 'left',
            data: { key, after: null, before },
          } as ResourceEvent);
        return null;
      }
      default: {
        const never: never = type;
        throw new Error(`unknown event type ${String(never)}`);
      }
    }
  };
}

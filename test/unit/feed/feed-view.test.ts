// What a change-feed caller sees of an event: filters on after (before for deletes), rows moving in
// and out of the view, hidden fields cut everywhere, and the same object back when nothing changes.
import { describe, expect, it } from 'vitest';
import { ResourceMapping } from '../../../src/core/mapping.js';
import { resourceSchema } from '../../../src/config/api.js';
import { compileFeedView } from '../../../src/delivery/feed/feed-view.js';
import { parseFilterQuery } from '../../../src/resources/filter-match.js';
import { apiResourceEvent } from '../../support/resource-events.js';

const mapping = new ResourceMapping(
  'staff',
  resourceSchema.parse({
    table: 'emp',
    key: ['id'],
    fields: {
      id: { column: 'emp_no', codec: 'int' },
      dept: { column: 'dept_cd', codec: 'trim' },
      salary: { column: 'sal', codec: 'decimal' },
    },
  }),
);
const lookup = (n: string) => mapping.field(n);
const row = (id: number, dept: string, salary = '100.00') => ({ id, dept, salary });
const ev = (
  type: 'created' | 'updated' | 'deleted' | 'snapshot',
  after: object | null,
  before: object | null,
) => apiResourceEvent('staff', ['id'], type, { after: after as never, before: before as never });
const view = (query: string, hidden: string[] = []) =>
  compileFeedView({ filters: parseFilterQuery(query), hidden: new Set(hidden), lookup });

describe('compileFeedView', () => {
  it('without filters or hidden fields returns the very event', () => {
    const e = ev('created', row(1, 'ENG'), null);
    expect(view('')(e)).toBe(e);
  });

  it('filters created/snapshot on after and deleted on before (or the key without a before image)', () => {
    const eng = view('dept=eq.ENG');
    expect(eng(ev('created', row(1, 'ENG'), null))).not.toBeNull();
    expect(eng(ev('snapshot', row(1, 'OPS'), null))).toBeNull();
    expect(eng(ev('deleted', null, row(1, 'ENG')))).not.toBeNull();
    expect(eng(ev('deleted', null, row(1, 'OPS')))).toBeNull();
    const noBefore = apiResourceEvent('staff', ['id'], 'deleted', { key: { id: 1 } });
    expect(eng(noBefore)).toBeNull();
    expect(view('id=eq.1')(noBefore)).not.toBeNull();
  });

  it('an update into the view is a created, out of it a deleted, outside it nothing', () => {
    const eng = view('dept=eq.ENG');
    const stay = ev('updated', row(1, 'ENG', '2.00'), row(1, 'ENG'));
    expect(eng(stay)).toBe(stay);
    const into = eng(ev('updated', row(1, 'ENG'), row(1, 'OPS')))!;
    expect([into.type, (into as Record<string, unknown>).sluiceview, into.data.before]).toEqual([
      'staff.created',
      'entered',
      null,
    ]);
    const out = eng(ev('updated', row(1, 'OPS'), row(1, 'ENG')))!;
    expect([out.type, (out as Record<string, unknown>).sluiceview, out.data.after, out.data.before]).toEqual([
      'staff.deleted',
      'left',
      null,
      row(1, 'ENG'),
    ]);
    expect(eng(ev('updated', row(1, 'OPS'), row(1, 'HR')))).toBeNull();
    // No before image: judged on after alone, delivered as the update it is.
    expect(eng(ev('updated', row(1, 'ENG'), null))?.type).toBe('staff.updated');
    expect(eng(ev('updated', row(1, 'OPS'), null))).toBeNull();
  });

  it('cuts hidden fields from key, after and before, and may filter on them (row filters do)', () => {
    const e = ev('updated', row(1, 'ENG', '5.00'), row(1, 'ENG', '4.00'));
    const seen = view('salary=gt.1', ['salary'])(e)!;
    expect(seen.data).toEqual({
      key: { id: 1 },
      after: { id: 1, dept: 'ENG' },
      before: { id: 1, dept: 'ENG' },
    });
    expect(e.data.after).toEqual(row(1, 'ENG', '5.00')); // the shared event is untouched
  });

  it('passes a truncate to every caller; drops types it cannot judge when filtering', () => {
    const t = apiResourceEvent('staff', ['id'], 'truncated', { key: null });
    expect(view('dept=eq.ENG')(t)).toBe(t);
    const odd = { ...ev('created', row(1, 'ENG'), null), type: 'staff.renamed' };
    expect(view('dept=eq.ENG')(odd)).toBeNull();
  });
});

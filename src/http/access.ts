// Per-resource authorization from the config: role → actions, hidden fields per role, row filters
// bound to a claim. Without `access`, a resource is open to everyone when the API has no auth,
// and to every authenticated caller when it has.
import type { Action, ResourceConfig } from '../config/api.js';
import type { Filter } from '../resources/filter-grammar.js';
import type { Principal } from './auth.js';
import { ForbiddenProblem, UnauthorizedProblem } from './problem.js';

const allActions: readonly Action[] = ['read', 'create', 'update', 'delete'];

export class ResourcePolicy {
  private readonly access: ReadonlyMap<string, ReadonlySet<Action>>;
  /** hidden() per role list: every read asks it (bounded: roles come from tokens). */
  private readonly hiddenByRoles = new Map<string, ReadonlySet<string>>();

  constructor(
    readonly resource: string,
    private readonly cfg: Pick<ResourceConfig, 'access' | 'hiddenFields' | 'rowFilter'>,
    authEnabled: boolean,
  ) {
    const access = cfg.access ?? { [authEnabled ? 'authenticated' : 'anonymous']: [...allActions] };
    this.access = new Map(Object.entries(access).map(([role, acts]) => [role, new Set(acts)]));
  }

  /** Actions the anonymous role has (OpenAPI marks the others as secured). */
  anonymousActions(): ReadonlySet<Action> {
    return this.access.get('anonymous') ?? new Set();
  }

  private grantingRoles(p: Principal, action: Action): string[] {
    return p.roles.filter((r) => this.access.get(r)?.has(action));
  }

  /** Throws 401 (anonymous) or 403 (authenticated) unless the principal may do `action`. */
  check(p: Principal, action: Action): void {
    if (this.grantingRoles(p, action).length > 0) return;
    if (p.kind === 'anonymous')
      throw new UnauthorizedProblem(
        `${action} on ${this.resource} needs credentials (X-API-Key or Authorization: Bearer)`,
        [],
        {
          headers: { 'www-authenticate': 'Bearer' },
        },
      );
    throw new ForbiddenProblem(`none of your roles (${p.roles.join(', ')}) may ${action} ${this.resource}`);
  }

  /** Fields hidden from the principal: those hidden for every role that grants it `read`. */
  hidden(p: Principal): ReadonlySet<string> {
    const key = p.roles.join('\u0000');
    let set = this.hiddenByRoles.get(key);
    if (!set) {
      set = this.hiddenFor(p);
      if (this.hiddenByRoles.size >= 1000) this.hiddenByRoles.clear();
      this.hiddenByRoles.set(key, set);
    }
    return set;
  }

  private hiddenFor(p: Principal): ReadonlySet<string> {
    const roles = this.grantingRoles(p, 'read');
    if (roles.length === 0) return new Set();
    const lists = roles.map((r) => new Set(this.cfg.hiddenFields[r] ?? []));
    return new Set([...lists[0]!].filter((f) => lists.every((l) => l.has(f))));
  }

  /** Row filters for the principal's roles; a missing claim is a 403, never "all rows". */
  rowFilters(p: Principal): Filter[] {
    const out: Filter[] = [];
    for (const rf of this.cfg.rowFilter) {
      if (!p.roles.includes(rf.role)) continue;
      const claim = p.claims[rf.claim];
      const value =
        typeof claim === 'string'
          ? claim
          : typeof claim === 'number' || typeof claim === 'boolean'
            ? String(claim)
            : undefined;
      if (value === undefined)
        throw new ForbiddenProblem(`role ${rf.role} needs a "${rf.claim}" claim to reach ${this.resource}`);
      out.push({ kind: 'cond', field: rf.field, op: 'eq', negate: false, value });
    }
    return out;
  }
}

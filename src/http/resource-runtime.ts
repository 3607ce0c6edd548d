// Everything the HTTP layer holds for one resource, built once at start from the config.
import type { ResourceConfig } from '../config/api.js';
import type { ResourceMapping } from '../core/mapping.js';
import type { ResourceStore } from '../resources/resource-store.js';
import type { ResourcePolicy } from './access.js';
import type { Principal } from './auth.js';
import type { IdempotencyStore } from './idempotency.js';
import type { FieldLookup } from '../resources/query-filters.js';

export interface ResourceRuntime {
  readonly name: string;
  readonly config: ResourceConfig;
  readonly mapping: ResourceMapping;
  readonly store: ResourceStore;
  readonly policy: ResourcePolicy;
  readonly idempotency: IdempotencyStore;
}

/** Lookup over every mapped field (row filters may name fields the caller cannot see). */
export function fullLookup(r: ResourceRuntime): FieldLookup {
  return (name) => r.mapping.field(name);
}

/** The caller's view: hidden fields and the row filters that bind it. */
export function viewFor(
  r: ResourceRuntime,
  p: Principal,
): { hidden: ReadonlySet<string>; rowFilters: ReturnType<ResourcePolicy['rowFilters']> } {
  return { hidden: r.policy.hidden(p), rowFilters: r.policy.rowFilters(p) };
}

// Subject naming: `<prefix>.<source>.<schema>.<table>.<op>`. Every token goes through escapeToken.
import type { Op } from '../core/change-event.js';

/**
 * Makes a string safe as one NATS subject token. `.`, `*`, `>`, whitespace, `%` and anything
 * outside printable ASCII are percent-encoded (UTF-8 bytes), so the mapping is reversible and
 * two different names never share a token.
 */
export function escapeToken(raw: string): string {
  if (raw === '') return '%00';
  if (/^[A-Za-z0-9_\-$#@!&+,;=~'"()[\]{}|^`:<?/\\]+$/.test(raw)) return raw;
  let out = '';
  for (const ch of raw) {
    if (/^[A-Za-z0-9_\-$#@!&+,;=~'"()[\]{}|^`:<?/\\]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeToken(token: string): string {
  if (token === '%00') return '';
  return decodeURIComponent(token);
}

export function eventSubject(prefix: string, source: string, schema: string, table: string, op: Op): string {
  return `${prefix}.${escapeToken(source)}.${escapeToken(schema)}.${escapeToken(table)}.${op}`;
}

/** All events of one source. */
export function sourceWildcard(prefix: string, source: string): string {
  return `${prefix}.${escapeToken(source)}.>`;
}

/**
 * A source's dead letters: `<prefix>.dlq.<source>`, outside `<prefix>.<source>.>` so that whatever
 * consumes a source's events (the router, sinks, users' consumers) never receives one as a change.
 * Before 0.1 they were `<prefix>.<source>._dlq` (legacyDeadLetterSubject), still read by `sluice dlq list`.
 */
export function deadLetterSubject(prefix: string, source: string): string {
  return `${prefix}.dlq.${escapeToken(source)}`;
}

export function legacyDeadLetterSubject(prefix: string, source: string): string {
  return `${prefix}.${escapeToken(source)}._dlq`;
}

/** Where a sink sends the events its target rejected: `<prefix>.dlq.sinks.<sink>`. */
export function sinkDeadLetterSubject(prefix: string, sink: string): string {
  return `${prefix}.dlq.sinks.${escapeToken(sink)}`;
}

/** Where a sink publishes two-way conflicts: `<prefix>.conflicts.<sink>`. */
export function conflictSubject(prefix: string, sink: string): string {
  return `${prefix}.conflicts.${escapeToken(sink)}`;
}

/**
 * The entries Sluice keeps in its KV bucket: per source its offset, lease and status, and the lease
 * of its resource event router (`router`, apart from the source's own lease so each can run in
 * another process); per webhook endpoint the lease on its consumer (a kind of its own, so no
 * source name can collide with it).
 * Sinks keep their lease and status under kinds of their own too.
 */
export type KvEntryKind =
  'offset' | 'lease' | 'status' | 'router' | 'webhook-lease' | 'sinkLease' | 'sinkStatus' | 'member';

/**
 * The KV key of one source's (or webhook's) entry: `<kind>.<source as one token>`. KV keys take no `%`, so the
 * escapes are written with `_` (source names are config tokens, which need no escaping).
 */
export function kvKey(kind: KvEntryKind, source: string): string {
  return `${kind}.${escapeToken(source).replace(/%/g, '_')}`;
}

export function msgId(source: string, position: string, index: number): string {
  return `${source}:${position}:${index}`;
}

/** Splits a Nats-Msg-Id written by msgId(); the source name has no `:`, the position may. */
export function parseMsgId(id: string): { source: string; position: string; index: number } | null {
  const first = id.indexOf(':');
  const last = id.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const index = Number(id.slice(last + 1));
  if (!Number.isInteger(index)) return null;
  return { source: id.slice(0, first), position: id.slice(first + 1, last), index };
}

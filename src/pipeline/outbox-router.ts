// Outbox routing (Debezium EventRouter semantics): a row inserted into an outbox table is the
// application's own event, published on `<prefix>.outbox.<aggregate>.<type>` with the payload
// column as its body, instead of as a row change. Exactly once: its Nats-Msg-Id is the row's id
// column, so a re-read (snapshot resume, restart) is absorbed by the stream's duplicate window.
// Updates are ignored with a warning and deletes silently (an outbox is often emptied right after
// each insert), as the EventRouter does by default.
import type { SourceChange } from '../core/change-event.js';
import type { PublishRequest } from '../core/publisher.js';
import type { Logger } from '../core/source-adapter.js';
import type { OutboxConfig } from '../config/outbox.js';
import { escapeToken } from '../nats/subjects.js';

/** Where an outbox row goes: an event, nothing (update/delete/truncate), or the dead letters (bad row). */
export type OutboxRoute =
  | { readonly kind: 'event'; readonly request: PublishRequest }
  | { readonly kind: 'skip' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** The subject of an outbox event. */
export function outboxSubject(prefix: string, aggregate: string, type: string): string {
  return `${prefix}.outbox.${escapeToken(aggregate)}.${escapeToken(type)}`;
}

/** A header value on one line (a row's value may hold anything). */
function headerValue(v: unknown): string {
  return (typeof v === 'string' ? v : JSON.stringify(v)).replace(/[\r\n]+/g, ' ');
}

/**
 * The event body, always JSON: a json/jsonb value as JSON, a text column as is when it holds JSON
 * (the usual text outbox), any other value as a JSON string; a null payload as `null`.
 */
function jsonBody(payload: unknown): string {
  if (typeof payload !== 'string') return JSON.stringify(payload ?? null);
  try {
    JSON.parse(payload);
    return payload;
  } catch {
    return JSON.stringify(payload);
  }
}

export class OutboxRouter {
  readonly #tables: Map<string, OutboxConfig>;

  constructor(
    tables: readonly OutboxConfig[],
    private readonly source: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    this.#tables = new Map(tables.map((t) => [t.table, t]));
  }

  get size(): number {
    return this.#tables.size;
  }

  /** The route of `c`, or undefined when its table is not an outbox. */
  route(c: SourceChange): OutboxRoute | undefined {
    // An EncodedChange names its table without parsing its JSON back.
    const e = c.encoded;
    const o = e ? this.#tables.get(`${e.schema}.${e.table}`) : this.#tables.get(qualifiedTable(c));
    if (!o) return undefined;
    const op = c.event.op;
    switch (op) {
      case 'c':
      case 'r':
        break;
      case 'u':
        this.log.warn(
          { table: o.table, key: c.key },
          'an outbox row was updated; outbox rows are only inserted, ignored',
        );
        return { kind: 'skip' };
      case 'd':
      case 't':
        return { kind: 'skip' };
      default: {
        const never: never = op;
        throw new Error(`unexpected op ${String(never)}`);
      }
    }
    const row = c.event.after ?? {};
    const aggregate = row[o.aggregateType];
    const type = row[o.eventType];
    if (aggregate === null || aggregate === undefined || type === null || type === undefined)
      return {
        kind: 'invalid',
        reason: `outbox row without ${aggregate === null || aggregate === undefined ? o.aggregateType : o.eventType}`,
      };
    const id = o.id === null ? null : row[o.id];
    if (o.id !== null && (id === null || id === undefined))
      return { kind: 'invalid', reason: `outbox row without an id (column ${o.id})` };
    const payload = row[o.payload];
    const aggregateId = row[o.aggregateId] ?? null;
    const msgId =
      id === null || id === undefined
        ? `${this.source}:outbox:${c.position}:${c.index}`
        : `${this.source}:outbox:${headerValue(id)}`;
    let headers =
      `Sluice-Key: ${headerValue(JSON.stringify(aggregateId))}\r\n` +
      `Sluice-Aggregate-Type: ${headerValue(aggregate)}\r\n` +
      `Sluice-Aggregate-Id: ${headerValue(aggregateId)}\r\n` +
      `Sluice-Event-Type: ${headerValue(type)}\r\n` +
      'Content-Type: application/json\r\n';
    if (id !== null && id !== undefined) headers += `Sluice-Event-Id: ${headerValue(id)}\r\n`;
    return {
      kind: 'event',
      request: {
        subject: outboxSubject(this.prefix, headerValue(aggregate), headerValue(type)),
        payload: jsonBody(payload),
        msgId,
        headers,
        committedAtMs: c.event.source.snapshot === 'false' ? c.event.source.ts_ms : undefined,
      },
    };
  }
}

function qualifiedTable(c: SourceChange): string {
  const src = c.event.source;
  return `${src.schema}.${src.table}`;
}

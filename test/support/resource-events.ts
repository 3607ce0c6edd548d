// Builds valid resource events (CloudEvents, src/delivery/resource-event.ts) from database rows or
// API rows, and publishes them straight into the stream with the headers the router sets: for tests
// of what consumes resource events (change feed, webhooks) without running the router.
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { ResourceMapping } from '../../src/core/mapping.js';
import {
  keySubject,
  resourceEventId,
  resourceEventSchema,
  resourceSubject,
  type ResourceEvent,
  type ResourceEventType,
} from '../../src/delivery/resource-event.js';

type Row = Record<string, unknown>;

export interface EventMeta {
  /** The raw event's Nats-Msg-Id the resource event derives from (default: a fresh test id). */
  readonly rawMsgId?: string;
  readonly part?: number;
  /** `/sluice/<source>` (default: test). */
  readonly source?: string;
  /** Commit time (default: now). */
  readonly time?: Date;
}

let counter = 0;

/** A resource event from rows already in API shape; `key` defaults to the key fields of after ?? before. */
export function apiResourceEvent(
  resource: string,
  keyFields: readonly string[],
  type: ResourceEventType,
  rows: { after?: Row | null; before?: Row | null; key?: Row | null },
  meta: EventMeta = {},
): ResourceEvent {
  const after = rows.after ?? null;
  const before = rows.before ?? null;
  const row = after ?? before;
  const key =
    rows.key !== undefined
      ? rows.key
      : row === null
        ? null
        : Object.fromEntries(keyFields.map((k) => [k, row[k]]));
  const event: ResourceEvent = {
    specversion: '1.0',
    id: resourceEventId(meta.rawMsgId ?? `test.${process.pid}.${++counter}`, resource, meta.part ?? 0),
    source: `/sluice/${meta.source ?? 'test'}`,
    type: `${resource}.${type}`,
    ...(key === null ? {} : { subject: keySubject(keyFields.map((k) => key[k])) }),
    time: (meta.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data: { key, after, before },
  };
  return resourceEventSchema.parse(event);
}

/** A resource event from legacy rows (column names, raw values), mapped through the resource. */
export function resourceEventFromRows(
  mapping: ResourceMapping,
  type: ResourceEventType,
  rows: { after?: Row | null; before?: Row | null },
  meta: EventMeta = {},
): ResourceEvent {
  const toApi = (r: Row | null | undefined) => (r ? mapping.toApi(r) : null);
  return apiResourceEvent(
    mapping.name,
    mapping.key.map((k) => k.name),
    type,
    { after: toApi(rows.after), before: toApi(rows.before) },
    meta,
  );
}

/** Publishes events in order, each with Nats-Msg-Id, the CloudEvents content type and Sluice-Key. */
export async function publishResourceEventsJs(
  js: JetStreamClient,
  prefix: string,
  events: readonly ResourceEvent[],
): Promise<PubAck[]> {
  const acks: PubAck[] = [];
  for (const e of events) {
    const dot = e.type.lastIndexOf('.');
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    h.set('Sluice-Key', JSON.stringify(e.data.key));
    acks.push(
      await js.publish(
        resourceSubject(prefix, e.type.slice(0, dot), e.type.slice(dot + 1) as ResourceEventType),
        JSON.stringify(e),
        { msgID: e.id, headers: h },
      ),
    );
  }
  return acks;
}

// Shorthand used by the webhook tests: key, after and before given directly in API form.
export interface TestEventInput {
  readonly resource: string;
  readonly type: ResourceEventType;
  /** Key fields in API form; null for truncated. */
  readonly key: Record<string, unknown> | null;
  readonly after?: Record<string, unknown> | null;
  readonly before?: Record<string, unknown> | null;
  readonly source?: string;
}

export function resourceEvent(input: TestEventInput): ResourceEvent {
  const source = input.source ?? 'erp';
  const rawId = `${source}:0/${(++counter).toString(16)}:${process.hrtime.bigint()}`;
  return {
    specversion: '1.0',
    id: resourceEventId(rawId, input.resource),
    source: `/sluice/${source}`,
    type: `${input.resource}.${input.type}`,
    ...(input.key ? { subject: keySubject(Object.values(input.key)) } : {}),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { key: input.key, after: input.after ?? null, before: input.before ?? null },
  };
}

/**
 * Publishes events in order, each with Nats-Msg-Id, Content-Type and Sluice-Key, awaiting every
 * PubAck; `inFlight` > 1 keeps that many publishes outstanding (one connection keeps their order).
 */
export async function publishResourceEvents(
  nc: NatsConnection,
  prefix: string,
  events: readonly ResourceEvent[],
  inFlight = 1,
): Promise<void> {
  const js = jetstream(nc);
  const publish = (e: ResourceEvent) => {
    const [resource, type] = e.type.split('.') as [string, ResourceEventType];
    const h = natsHeaders();
    h.set('Nats-Msg-Id', e.id);
    h.set('Content-Type', 'application/cloudevents+json');
    h.set('Sluice-Key', JSON.stringify(e.data.key));
    return js.publish(resourceSubject(prefix, resource, type), JSON.stringify(e), { headers: h });
  };
  for (let i = 0; i < events.length; i += inFlight)
    await Promise.all(events.slice(i, i + inFlight).map(publish));
}

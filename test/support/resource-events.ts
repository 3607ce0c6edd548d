// Builds valid resource events (CloudEvents, src/delivery/resource-event.ts) and publishes them
// into the stream with the headers the router sets, so delivery tests need no router.
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import {
  keySubject,
  resourceEventId,
  resourceSubject,
  type ResourceEvent,
  type ResourceEventType,
} from '../../src/delivery/resource-event.js';

let counter = 0;

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

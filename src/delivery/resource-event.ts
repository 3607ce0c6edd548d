// The resource event: one change to a table a resource maps, as a CloudEvents 1.0 structured JSON
// event in the resource's API shape. Produced by the router (src/delivery/router.ts), carried on
// `<prefix>.resources.<resource>.<type>`, and consumed by webhooks and the HTTP change feed.
import { z } from 'zod';
import { escapeToken, unescapeToken } from '../nats/subjects.js';

export const resourceEventTypes = ['created', 'updated', 'deleted', 'snapshot', 'truncated'] as const;
export const resourceEventTypeSchema = z.enum(resourceEventTypes);
export type ResourceEventType = z.infer<typeof resourceEventTypeSchema>;

const apiRow = z.record(z.string(), z.unknown());

export const resourceEventDataSchema = z.object({
  /** The key fields in API form (field name → value); null for `truncated`. */
  key: apiRow.nullable(),
  /** The row after the change in API shape; null for `deleted` and `truncated`. */
  after: apiRow.nullable(),
  /** The row before the change where the source sent one (updates and deletes); else null. */
  before: apiRow.nullable(),
  /**
   * Fields left out of `after` because the source did not send their (unchanged) value and the
   * event has no before image to take it from (PostgreSQL's unchanged TOAST without REPLICA
   * IDENTITY FULL). Absent when every field is there.
   */
  unavailable: z.array(z.string()).optional(),
});
export type ResourceEventData = z.infer<typeof resourceEventDataSchema>;

export const resourceEventSchema = z.object({
  specversion: z.literal('1.0'),
  /** Deterministic: derived from the raw event's Nats-Msg-Id (see resourceEventId). */
  id: z.string().min(1),
  /** `/sluice/<source>` */
  source: z.string().min(1),
  /** `<resource>.<created|updated|deleted|snapshot|truncated>` */
  type: z.string().min(1),
  /** Key values joined by `,` (a `,` or `%` inside a value percent-encoded); absent for truncated. */
  subject: z.string().optional(),
  /** Commit time, ISO 8601 to the millisecond. */
  time: z.string(),
  datacontenttype: z.literal('application/json'),
  data: resourceEventDataSchema,
});
export type ResourceEvent = z.infer<typeof resourceEventSchema>;

/** `<prefix>.resources.<resource>.<type>` */
export function resourceSubject(prefix: string, resource: string, type: ResourceEventType): string {
  return `${prefix}.resources.${escapeToken(resource)}.${type}`;
}

/** Every resource event of one resource, or of all resources. */
export function resourceWildcard(prefix: string, resource?: string): string {
  return resource === undefined ? `${prefix}.resources.>` : `${prefix}.resources.${escapeToken(resource)}.*`;
}

/** Reads `<prefix>.resources.<resource>.<type>` back; null when the subject is not one. */
export function parseResourceSubject(
  prefix: string,
  subject: string,
): { resource: string; type: ResourceEventType } | null {
  const head = `${prefix}.resources.`;
  if (!subject.startsWith(head)) return null;
  const rest = subject.slice(head.length).split('.');
  if (rest.length !== 2) return null;
  const type = resourceEventTypeSchema.safeParse(rest[1]);
  if (!type.success) return null;
  return { resource: unescapeToken(rest[0]!), type: type.data };
}

/**
 * The resource event's own id (and Nats-Msg-Id): the raw event's Nats-Msg-Id, the resource and
 * a part number (an update that changes the key yields two events: deleted, then created). It
 * must differ from the raw id, or the stream's duplicate window would drop it.
 */
export function resourceEventId(rawMsgId: string, resource: string, part = 0): string {
  return `${rawMsgId}/${resource}/${part}`;
}

/** The CloudEvents `subject`: key values joined by `,`, with `,` and `%` percent-encoded. */
export function keySubject(values: readonly unknown[]): string {
  return values.map((v) => String(v).replace(/%/g, '%25').replace(/,/g, '%2C')).join(',');
}

/** Names that may not be source names: their subjects would collide with Sluice's own. */
/** The resource events' Content-Type header (the body is a structured CloudEvent). */
export const resourceEventContentType = 'application/cloudevents+json';

/** Where a raw event that cannot be mapped to `resource` goes, with the reason. */
export function resourceDeadLetterSubject(prefix: string, resource: string): string {
  return `${prefix}.dlq.resources.${escapeToken(resource)}`;
}

export const reservedSubjectTokens = ['resources', 'dlq', 'conflicts', 'outbox'] as const;

// One resource event read from the stream, parsed once and shared by every subscriber it reaches.
import type { JsMsg } from '@nats-io/jetstream';
import { resourceEventSchema, type ResourceEvent } from '../resource-event.js';

export interface FeedItem {
  /** The stream sequence: the resume token of the change feed. */
  readonly seq: number;
  readonly event: ResourceEvent;
  /** The message body as published (served as is when a caller's view leaves the event whole). */
  readonly payload: string;
  /** The SSE frame of the whole event, encoded once for every subscriber that sees it whole. */
  frame?: Uint8Array;
}

/** The item of a message, or null when its body is not a resource event (logged by the caller). */
export function toFeedItem(m: Pick<JsMsg, 'seq' | 'data'>): FeedItem | null {
  const payload = new TextDecoder().decode(m.data);
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = resourceEventSchema.safeParse(json);
  return parsed.success ? { seq: m.seq, event: parsed.data, payload } : null;
}

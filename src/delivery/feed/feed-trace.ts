// Stage timestamps of the change feed for whoever listens (bench/feed.ts): a diagnostics channel
// costs one property read per event when nobody subscribes.
import diagnostics from 'node:diagnostics_channel';
import type { FeedItem } from './feed-item.js';

/** Where an event is on its way from the stream to a subscriber's socket. */
export type FeedStage = 'tail' | 'write';

export interface FeedTraceMessage {
  readonly stage: FeedStage;
  readonly items: readonly FeedItem[];
}

export const feedTrace = diagnostics.channel('sluice:feed');

/** Reports that `items` reached `stage` now (no-op without a subscriber). */
export function traceFeed(stage: FeedStage, items: readonly FeedItem[]): void {
  if (feedTrace.hasSubscribers) feedTrace.publish({ stage, items } satisfies FeedTraceMessage);
}

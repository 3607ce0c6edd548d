// The change feed across a nats-server restart: the shared consumer comes back by itself (or the
// stream ends and the client resumes with Last-Event-ID); either way nothing is lost or repeated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/http/server.js';
import { createLogger } from '../../src/util/logger.js';
import { startFeedService, type FeedService } from '../support/feed-service.js';
import { waitFor } from '../support/ports.js';
import { apiResourceEvent, publishResourceEventsJs } from '../support/resource-events.js';
import { openSse, type SseStream } from '../support/sse-client.js';

describe('change feed across a NATS restart', () => {
  let svc: FeedService;
  beforeAll(async () => {
    svc = await startFeedService();
  });
  afterAll(async () => {
    await svc?.close();
  });

  const event = (i: number) =>
    apiResourceEvent('events', ['id'], 'created', { after: { id: i, message: `m${i}` } });

  it('delivers every event published before and after the restart, once, in order', async () => {
    const url = `${svc.url}/api/events/changes`;
    const received: number[] = [];
    let sse: SseStream = await openSse(url);
    const seqs = (await publishResourceEventsJs(svc.js, 'feed', [1, 2, 3].map(event))).map((a) => a.seq);
    await sse.waitForEvents(3);
    await svc.nats.restart(200);
    await waitFor(
      async () => !svc.nc.isClosed() && (await svc.jsm.streams.info('FEED').then(() => true)),
      'NATS back',
    );
    seqs.push(...(await publishResourceEventsJs(svc.js, 'feed', [4, 5, 6].map(event))).map((a) => a.seq));
    // Follow as a browser would: when the server ends the stream, reconnect with Last-Event-ID.
    for (;;) {
      const done = await Promise.race([
        sse.ended.then(() => 'ended' as const),
        waitFor(async () => received.length + sse.events.length >= 6, 'events', 60_000).then(
          () => 'all' as const,
        ),
      ]);
      received.push(...sse.events.map((e) => Number(e.id)));
      sse.close();
      if (done === 'all' || received.length >= 6) break;
      sse = await openSse(url, { lastEventId: String(received.at(-1) ?? 0) });
    }
    expect(received).toEqual(seqs);
  });

  it('a token from one service instance resumes on another (the feed keeps no state of its own)', async () => {
    const other = await startApi(svc.cfg, createLogger('silent'));
    try {
      const first = await openSse(`${svc.url}/api/events/changes`);
      const seqs = (await publishResourceEventsJs(svc.js, 'feed', [7, 8].map(event))).map((a) => a.seq);
      await first.waitForEvents(1);
      first.close();
      const token = first.events[0]!.id!;
      seqs.push(...(await publishResourceEventsJs(svc.js, 'feed', [9].map(event))).map((a) => a.seq));
      const second = await openSse(`${other.url}/api/events/changes`, { lastEventId: token });
      const got = await second.waitForEvents(seqs.length - 1);
      second.close();
      expect([Number(token), ...got.map((e) => Number(e.id))]).toEqual(seqs);
    } finally {
      await other.close();
    }
  });
});

// A subscriber that stops reading does not hold up the others and does not grow the server's
// memory: at api.changes.buffer events behind its stream is closed, and it resumes with
// Last-Event-ID without losing or repeating an event.
import http from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFeedService, type FeedService } from '../support/feed-service.js';
import { apiResourceEvent, publishResourceEventsJs } from '../support/resource-events.js';
import { openSse } from '../support/sse-client.js';

describe('a slow change-feed subscriber', () => {
  let svc: FeedService;
  beforeAll(async () => {
    svc = await startFeedService((api) => {
      api.changes.buffer = 8;
    });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('is closed when its buffer is full, others go on, and it resumes without loss', async () => {
    const url = `${svc.url}/api/events/changes`;
    // The slow client: a raw request whose response is paused, so the socket fills up.
    const events: EventSourceMessage[] = [];
    const comments: string[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
    let slowRes!: http.IncomingMessage;
    await new Promise<void>((resolve, reject) =>
      http
        .get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
          slowRes = res;
          res.pause();
          resolve();
        })
        .on('error', reject),
    );
    const fast = await openSse(url);

    // 200 events of ~32 KB: far more than the socket buffers hold.
    const big = 'x'.repeat(32 * 1024);
    const seqs: number[] = [];
    for (let i = 0; i < 200; i += 20)
      seqs.push(
        ...(
          await publishResourceEventsJs(
            svc.js,
            'feed',
            Array.from({ length: 20 }, (_, k) =>
              apiResourceEvent('events', ['id'], 'created', { after: { id: i + k, message: big } }),
            ),
          )
        ).map((a) => a.seq),
      );
    expect((await fast.waitForEvents(200)).map((e) => Number(e.id))).toEqual(seqs);
    fast.close();

    // Reading again: the slow stream ends after what was queued, saying why.
    const ended = new Promise<void>((resolve) => slowRes.once('end', resolve));
    slowRes.setEncoding('utf8');
    slowRes.on('data', (chunk: string) => parser.feed(chunk));
    slowRes.resume();
    await ended;
    expect(comments.at(-1)).toMatch(/too slowly/);
    expect(events.length).toBeLessThan(200);
    const resumed = await openSse(url, { lastEventId: events.at(-1)!.id! });
    const rest = await resumed.waitForEvents(200 - events.length);
    resumed.close();
    expect([...events, ...rest].map((e) => Number(e.id))).toEqual(seqs);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(
      /sluice_feed_subscriptions_closed_total\{resource="events",reason="overflow"\} [1-9]/,
    );
    expect(metrics).toMatch(/sluice_feed_events_total\{resource="events"\} [1-9]/);
  });
});

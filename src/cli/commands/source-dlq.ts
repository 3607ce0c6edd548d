// `sluice dlq list|replay <source>`: a source's dead letters (events that could not be published,
// kept as a small record: reason, subject, key, size, and where the body is kept), from
// `<prefix>.dlq.<source>` and the subject older versions used, `<prefix>.<source>._dlq`.
// Replay publishes each kept body under its original subject and Nats-Msg-Id once it fits.
import { jetstream } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import { DeadLetterBodies } from '../../nats/dead-letter-bodies.js';
import { readAll, type StoredEvent } from '../../nats/stream-reader.js';
import { deadLetterSubject, legacyDeadLetterSubject } from '../../nats/subjects.js';

export interface SourceDeadLetter {
  readonly seq: number;
  readonly subject: string;
  readonly letter: unknown;
}

export async function listSourceDeadLetters(
  nc: NatsConnection,
  cfg: SluiceConfig,
  source: string,
): Promise<SourceDeadLetter[]> {
  const { stream, subjectPrefix } = cfg.nats;
  const subjects = [deadLetterSubject(subjectPrefix, source), legacyDeadLetterSubject(subjectPrefix, source)];
  const found = await Promise.all(subjects.map((s) => readAll(nc, stream, s)));
  return found
    .flat()
    .map((e) => ({ seq: e.seq, subject: e.subject, letter: e.event }))
    .sort((a, b) => a.seq - b.seq);
}

export function formatSourceDeadLetter(d: { seq: number; letter: unknown }): string {
  const l = d.letter as { reason?: string; subject?: string; key?: unknown; bytes?: number; op?: string };
  return `#${d.seq} ${l.reason ?? 'dead letter'}: ${l.subject ?? '?'} ${l.op ?? ''} key ${JSON.stringify(l.key ?? null)}${l.bytes ? ` (${l.bytes} bytes)` : ''}`;
}

/** What replay did with one dead letter. */
export type ReplayOutcome =
  /** Published under its original subject and id (or found already published), letter removed. */
  | { readonly kind: 'replayed'; readonly seq: number; readonly duplicate: boolean }
  /** Left in place, with the reason. */
  | { readonly kind: 'kept'; readonly reason: string };

interface Letter {
  readonly subject?: string;
  readonly msgId?: string;
  readonly key?: unknown;
  readonly body?: { bucket: string; name: string } | null;
}

/** Same bound as the dispatcher's: what a publish needs beside the payload. */
const HEADER_ALLOWANCE = 4096;

/**
 * Publishes every dead letter of `source` whose body can now be published, oldest first, with its
 * original subject, Nats-Msg-Id and Sluice-Key, then deletes the letter and its body. A letter stays
 * when its body was not kept, is still too large, or (unless `force`) the stream already holds a
 * later change of the same key: sending the older event after it would leave consumers with the
 * stale row. A crash between publish and delete is absorbed by the stream's duplicate window.
 */
export async function replaySourceDeadLetters(
  nc: NatsConnection,
  cfg: SluiceConfig,
  source: string,
  opts: { force?: boolean; onResult?: (d: SourceDeadLetter, o: ReplayOutcome) => void } = {},
): Promise<{ replayed: number; kept: number }> {
  const { stream } = cfg.nats;
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const max = nc.info?.max_payload ?? 1024 * 1024;
  const stores = new Map<string, DeadLetterBodies>();
  const tableEvents = new Map<string, StoredEvent[]>();
  let replayed = 0;
  let kept = 0;
  for (const d of await listSourceDeadLetters(nc, cfg, source)) {
    const l = d.letter as Letter;
    const outcome = await (async (): Promise<ReplayOutcome> => {
      if (!l.body || !l.subject || !l.msgId)
        return {
          kind: 'kept',
          reason: 'its body was not kept (dead-lettered by an older version, or keeping it failed)',
        };
      let bodies = stores.get(l.body.bucket);
      if (!bodies) {
        bodies = new DeadLetterBodies(nc, l.body.bucket, {
          replicas: cfg.nats.streamConfig.replicas,
          storage: cfg.nats.streamConfig.storage,
        });
        stores.set(l.body.bucket, bodies);
      }
      const body = await bodies.read(l.body.name);
      if (body === null)
        return { kind: 'kept', reason: `its body ${l.body.name} is gone from ${l.body.bucket}` };
      const bytes = Buffer.byteLength(body);
      if (bytes + HEADER_ALLOWANCE > max)
        return {
          kind: 'kept',
          reason: `still larger than max_payload (${bytes} bytes, server allows ${max})`,
        };
      if (!opts.force) {
        // The table's events: the letter's subject with its op token replaced by a wildcard.
        const table = `${l.subject.slice(0, l.subject.lastIndexOf('.'))}.*`;
        let events = tableEvents.get(table);
        if (!events) {
          events = await readAll(nc, stream, table);
          tableEvents.set(table, events);
        }
        const key = JSON.stringify(l.key ?? null);
        const later = events.find((e) => e.seq > d.seq && JSON.stringify(e.key) === key);
        if (later)
          return {
            kind: 'kept',
            reason: `superseded by a later change of the same key (#${later.seq}); --force sends it anyway`,
          };
      }
      const event = JSON.parse(body) as { origin?: string };
      const h = headers();
      h.set('Sluice-Key', JSON.stringify(l.key ?? null));
      h.set('Content-Type', 'application/json');
      if (event.origin !== undefined) h.set('Sluice-Origin', event.origin);
      const ack = await js.publish(l.subject, body, { msgID: l.msgId, headers: h, timeout: 10_000 });
      await jsm.streams.deleteMessage(stream, d.seq, false);
      await bodies.drop(l.body.name);
      return { kind: 'replayed', seq: ack.seq, duplicate: ack.duplicate };
    })().catch((err: unknown): ReplayOutcome => ({ kind: 'kept', reason: errorMessage(err) }));
    if (outcome.kind === 'replayed') replayed++;
    else kept++;
    opts.onResult?.(d, outcome);
  }
  return { replayed, kept };
}

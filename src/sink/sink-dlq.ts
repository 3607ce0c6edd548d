// `sluice dlq list|replay <sink>`: the events a sink's target refused (`<prefix>.dlq.sinks.<sink>`),
// and applying them again after the target (or the data) was fixed.
//
// Replay must never put an old image over a newer one. It runs in ONE target transaction that
// first locks the sink's position row, so the running sink cannot commit meanwhile (its
// compare-and-set waits for this transaction), then reads which events the target already holds
// (up to the position). Per key only the latest dead letter counts, and only when no later event of
// that key was applied since: otherwise the target holds a newer version and the letter is
// superseded. Each letter applies under a savepoint; a refused one stays in the stream with its new
// reason. After the commit, replayed and superseded letters are deleted from the stream; a crash
// before that leaves them, and a second replay finds them applied (an upsert or delete again is a
// no-op) or superseded.
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import type { SinkConfig } from '../config/sinks.js';
import { readAll } from '../nats/stream-reader.js';
import { sinkDeadLetterSubject, sourceWildcard, unescapeToken } from '../nats/subjects.js';
import { dialectForUrl } from '../sql/dialects.js';
import { rejectionOf, SinkApplier, type SinkEvent } from './sink-apply.js';
import { SinkMapping } from './sink-mapping.js';
import { ensureMarkerTable, writeMarker } from './sink-marker.js';
import { ensurePositionTable, loadPosition, POSITION_TABLE } from './sink-position.js';
import { sinkOrigin } from './sink-runner.js';

/** One dead letter as the sink wrote it. */
export interface SinkDeadLetter {
  /** The dead letter's own stream sequence (what replay deletes). */
  readonly seq: number;
  readonly sink: string;
  /** The refused event's stream sequence. */
  readonly eventSeq: number;
  readonly kind: string;
  readonly reason: string;
  readonly event: SinkEvent;
}

export async function listSinkDeadLetters(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats'>,
  sink: string,
): Promise<SinkDeadLetter[]> {
  const stored = await readAll(nc, cfg.nats.stream, sinkDeadLetterSubject(cfg.nats.subjectPrefix, sink));
  return stored.map((s) => {
    const l = s.event as { sink: string; seq: number; kind: string; reason: string; event: SinkEvent };
    return { seq: s.seq, sink: l.sink, eventSeq: l.seq, kind: l.kind, reason: l.reason, event: l.event };
  });
}

export function formatSinkDeadLetter(d: SinkDeadLetter): string {
  const e = d.event;
  return `#${d.seq} event ${d.eventSeq} ${e.schema}.${e.table} ${e.op} key ${JSON.stringify(e.key)}: ${d.kind}: ${d.reason}`;
}

export type ReplayOutcome = 'replayed' | 'superseded' | 'refused';

export interface SinkReplayReport {
  replayed: number;
  superseded: number;
  refused: number;
}

export async function replaySinkDeadLetters(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats' | 'api'>,
  sink: SinkConfig,
  onResult: (d: SinkDeadLetter, outcome: ReplayOutcome, reason?: string) => void = () => {},
): Promise<SinkReplayReport> {
  const report: SinkReplayReport = { replayed: 0, superseded: 0, refused: 0 };
  const letters = await listSinkDeadLetters(nc, cfg, sink.name);
  if (letters.length === 0) return report;
  const dialect = await dialectForUrl(sink.url);
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory(
    await dialect.sinkKnexConfig(sink.url, sink.twoWay ? sinkOrigin(sink.name) : null),
  );
  const done: number[] = [];
  try {
    await ensurePositionTable(knex);
    await loadPosition(knex, sink.name); // creates the row when missing, so it can be locked
    const marks = sink.twoWay && dialect.sinkMarks === 'marker';
    if (marks) await ensureMarkerTable(knex);
    const applier = new SinkApplier(dialect, new SinkMapping(sink, cfg.api?.resources ?? {}));
    await knex.transaction(async (trx) => {
      const q = trx(POSITION_TABLE).where({ sink: sink.name }).first('stream_seq');
      const row = (await (dialect.rowLocks ? q.forUpdate() : q)) as { stream_seq: unknown };
      const applied = Number(row.stream_seq);
      // Two-way: the replay's writes are the sink's too (a value the sink never writes, so it changes).
      if (marks) await writeMarker(trx, dialect, sink.name, -Date.now());
      const dead = new Set(letters.map((l) => l.eventSeq));
      const minSeq = Math.min(...letters.map((l) => l.eventSeq));
      const later = await laterEventsByKey(nc, cfg, sink.from, minSeq, applied, dead);
      // Per key, the latest dead letter; the earlier ones are superseded by it.
      const latest = new Map<string, SinkDeadLetter>();
      for (const l of [...letters].sort((a, b) => a.eventSeq - b.eventSeq)) {
        const id = keyId(l.event.schema, l.event.table, l.event.key);
        const before = latest.get(id);
        if (before) {
          onResult(before, 'superseded');
          report.superseded++;
          done.push(before.seq);
        }
        latest.set(id, l);
      }
      const rejection = rejectionOf(dialect);
      for (const [id, l] of latest) {
        if ((later.get(id) ?? 0) > l.eventSeq) {
          onResult(l, 'superseded');
          report.superseded++;
          done.push(l.seq);
          continue;
        }
        const [refused] = await applier.applyEach(trx, [l.event], rejection);
        if (refused) {
          onResult(l, 'refused', `${refused.kind}: ${refused.reason}`);
          report.refused++;
        } else {
          onResult(l, 'replayed');
          report.replayed++;
          done.push(l.seq);
        }
      }
    });
  } finally {
    await knex.destroy();
  }
  const jsm = await jetstreamManager(nc);
  for (const seq of done) await jsm.streams.deleteMessage(cfg.nats.stream, seq, false);
  return report;
}

function keyId(schema: string, table: string, key: unknown): string {
  return JSON.stringify([schema, table, key]);
}

/**
 * Per key (schema, table, key), the last stream sequence in (`after`, `upTo`] of an event the sink
 * applied (not one of `dead`): read headers only, from the source's subjects.
 */
async function laterEventsByKey(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats'>,
  source: string,
  after: number,
  upTo: number,
  dead: ReadonlySet<number>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (upTo <= after) return out;
  const wildcard = sourceWildcard(cfg.nats.subjectPrefix, source);
  const consumer = await jetstream(nc).consumers.get(cfg.nats.stream, {
    filter_subjects: wildcard,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: after + 1,
    headers_only: true,
  });
  const messages = await consumer.consume({ max_messages: 4096 });
  const base = wildcard.slice(0, -1); // `<prefix>.<source>.`
  try {
    for await (const m of messages) {
      if (m.seq > upTo) break;
      const [schema, table] = m.subject.slice(base.length).split('.');
      // An echo (two-way) is not applied either.
      const echo = (m.headers?.get('Sluice-Origin') ?? '') !== '';
      if (!dead.has(m.seq) && !echo && schema !== undefined && table !== undefined && table !== '')
        out.set(
          keyId(
            unescapeToken(schema),
            unescapeToken(table),
            JSON.parse(m.headers?.get('Sluice-Key') || 'null'),
          ),
          m.seq,
        );
      if (m.seq >= upTo || m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return out;
}

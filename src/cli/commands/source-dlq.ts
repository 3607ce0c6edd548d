// `sluice dlq list <source>`: a source's dead letters (events that could not be published, kept as
// a small record: reason, subject, key, size), from `<prefix>.dlq.<source>` and the subject older
// versions used, `<prefix>.<source>._dlq`.
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../../config/schema.js';
import { readAll } from '../../nats/stream-reader.js';
import { deadLetterSubject, legacyDeadLetterSubject } from '../../nats/subjects.js';

export async function listSourceDeadLetters(
  nc: NatsConnection,
  cfg: SluiceConfig,
  source: string,
): Promise<{ seq: number; subject: string; letter: unknown }[]> {
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

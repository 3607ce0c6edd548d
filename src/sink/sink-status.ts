// `sluice status` rows for sinks: the state the running process wrote, whether a live lease backs
// it, the position the target holds, and the lag (events of the source not yet applied).
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { sinkConsumerPending } from '../nats/sink-consumer.js';
import { kvKey } from '../nats/subjects.js';
import { openDatabase } from '../sql/database.js';
import { POSITION_TABLE } from './sink-position.js';

interface StatusBody {
  state: string;
  owner?: string;
  detail?: string;
  at?: string;
  events?: number | null;
  eventsPerSecond?: number;
}

export async function sinkStatusRows(
  nc: NatsConnection,
  cfg: SluiceConfig,
  kv: KV | null,
): Promise<Record<string, unknown>[]> {
  const jsm = await jetstreamManager(nc);
  const rows: Record<string, unknown>[] = [];
  for (const s of cfg.sinks) {
    const row: Record<string, unknown> = { sink: s.name, from: s.from };
    const st = await kv?.get(kvKey('sinkStatus', s.name)).catch(() => null);
    const body = st && st.value.length > 0 ? st.json<StatusBody>() : null;
    const lease = await kv?.get(kvKey('sinkLease', s.name)).catch(() => null);
    const leaseBody =
      lease && lease.value.length > 0 ? lease.json<{ owner: string; expiresAt: number }>() : null;
    const live = leaseBody !== null && leaseBody.expiresAt > Date.now();
    row.state = !body ? 'never run' : live ? body.state : `not running (last: ${body.state})`;
    if (live) row.owner = leaseBody.owner;
    if (body?.detail) row.detail = body.detail;
    if (live && body?.eventsPerSecond !== undefined) row.eventsPerSecond = body.eventsPerSecond;
    row.lagEvents = await sinkConsumerPending(jsm, cfg.nats.stream, s.name);
    const db = await openDatabase(s.url, { tls: s.tls }).catch(() => null);
    try {
      const pos = db
        ? ((await db.knex(POSITION_TABLE).where({ sink: s.name }).first()) as
            | { stream_seq: unknown; source_position: string | null; events: unknown; updated_ms: unknown }
            | undefined)
        : undefined;
      if (pos) {
        row.streamSeq = Number(pos.stream_seq);
        row.sourcePosition = pos.source_position;
        row.eventsApplied = Number(pos.events);
        row.appliedAt = new Date(Number(pos.updated_ms)).toISOString();
      }
    } catch (err) {
      row.positionError = errorMessage(err);
    } finally {
      await db?.close();
    }
    rows.push(row);
  }
  return rows;
}

// `sluice status` rows for webhooks: backlog (events not yet delivered) and paused state.
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../../config/schema.js';
import { describeNatsError, isConsumerNotFound } from '../../nats/jetstream-errors.js';
import { kvKey } from '../../nats/subjects.js';
import { webhookConsumerName } from './webhook-endpoint.js';
import { loadWebhookState } from './webhook-state.js';

export async function webhookStatusRows(
  nc: NatsConnection,
  kv: KV | null,
  cfg: Pick<SluiceConfig, 'nats' | 'webhooks'>,
): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  if (cfg.webhooks.length === 0) return rows;
  const jsm = await jetstreamManager(nc);
  for (const w of cfg.webhooks) {
    const row: Record<string, unknown> = { source: w.name, kind: 'webhook', endpoint: new URL(w.url).origin };
    const state = kv ? await loadWebhookState(kv, w.name).catch(() => null) : null;
    const lease = await kv?.get(kvKey('webhook-lease', w.name)).catch(() => null);
    const leaseBody =
      lease && lease.operation === 'PUT' && lease.value.length > 0
        ? lease.json<{ owner: string; expiresAt: number }>()
        : null;
    const live = leaseBody !== null && leaseBody.expiresAt > Date.now();
    if (live) row.owner = leaseBody.owner;
    try {
      const info = await jsm.consumers.info(cfg.nats.stream, webhookConsumerName(w.name));
      // Not yet handed to sluice (num_pending) plus handed over and not yet acknowledged.
      row.backlog = info.num_pending + info.num_ack_pending;
      row.pending = info.num_pending;
      row.ackPending = info.num_ack_pending;
      row.state = state?.paused
        ? `paused: ${state.paused.reason} at ${state.paused.at}`
        : live
          ? 'delivering'
          : 'not running';
    } catch (err) {
      row.state = isConsumerNotFound(err) ? 'never run' : `unknown (${describeNatsError(err)})`;
    }
    rows.push(row);
  }
  return rows;
}

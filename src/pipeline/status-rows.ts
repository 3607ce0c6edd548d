// What `sluice status` reports, per source, sink, webhook and fleet member, as rows; also read by
// the status page (src/http/status-page.ts), which keeps its source adapters open between reads.
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import type { AnySourceAdapter, Logger } from '../core/source-adapter.js';
import { routedSources } from '../delivery/resource-events.js';
import { routerConsumerName, routerLag } from '../delivery/router.js';
import { webhookStatusRows } from '../delivery/webhooks/webhook-status.js';
import { fleetId, liveMembers } from '../nats/fleet.js';
import { KvOffsetStore } from '../nats/offset-store.js';
import { kvKey } from '../nats/subjects.js';
import { createSourceAdapter } from './adapters.js';

/**
 * One row per source, webhook, sink and fleet member. `adapters`: source adapters to reuse (kept
 * open); without it each source's adapter is created for the call and closed after.
 */
export async function statusRows(
  cfg: SluiceConfig,
  nc: NatsConnection,
  log: Logger,
  adapters?: Map<string, AnySourceAdapter>,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const kv = await new Kvm(nc).open(cfg.nats.kvBucket).catch(() => null);
  const store = kv ? new KvOffsetStore(kv) : null;
  const jsm = await jetstreamManager(nc);
  const routed = new Set(routedSources(cfg.api?.resources ?? {}));
  const fleet = fleetId(cfg.sources.map((s) => s.name));
  // The processes of this config's fleet (others may share the bucket with other sources).
  const everyone = kv ? await liveMembers(kv).catch(() => []) : [];
  const members = everyone.filter((m) => m.fleet === fleet);
  for (const s of cfg.sources) {
    const row: Record<string, unknown> = { source: s.name, kind: s.kind };
    const stored = await store?.load(s.name).catch(() => null);
    const reused = adapters?.get(s.name);
    const adapter = reused ?? (await createSourceAdapter(s, log));
    if (adapters && !reused) adapters.set(s.name, adapter);
    try {
      const offset = stored ? adapter.offsets.parse(stored.offset) : null;
      row.offset = offset === null ? null : adapter.offsets.describe(offset);
      row.committedAt = stored?.updatedAt ?? null;
      const st = await kv?.get(kvKey('status', s.name)).catch(() => null);
      const body =
        st && st.value.length > 0
          ? st.json<{ state: string; owner?: string; detail: string; pid: number; at: string }>()
          : null;
      // The state is what the running process last wrote; without a live lease nobody runs it.
      const leaseBody = await liveLease(kv, kvKey('lease', s.name));
      const live = leaseBody !== null;
      // Only the lease holder writes the state; one written by an earlier holder says nothing
      // about the instance that holds the lease now (until it writes its own).
      const fromHolder = live && (body?.owner === undefined || body.owner === leaseBody.owner);
      row.state = !body
        ? 'never run'
        : fromHolder
          ? body.state
          : live
            ? 'taking over'
            : `not running (last: ${body.state})`;
      if (live) {
        row.owner = leaseBody.owner;
        // The fleet member (process) holding it: instance id, host and pid.
        const m = everyone.find((mm) => mm.instance === leaseBody.instance);
        if (m) Object.assign(row, { instance: m.instance, host: m.host, pid: m.pid });
      }
      if (body?.detail) row.detail = body.detail;
      if (body?.pid && row.pid === undefined) row.pid = body.pid;
      Object.assign(
        row,
        (await adapter.status(offset).catch((err: unknown) => ({ facts: { error: String(err) } }))).facts,
      );
    } finally {
      if (!adapters) await adapter.close();
    }
    if (routed.has(s.name)) {
      // The resource event router: who runs it, and how many raw events it has yet to route.
      const info = await jsm.consumers
        .info(cfg.nats.stream, routerConsumerName(cfg.nats.subjectPrefix, s.name))
        .catch(() => null);
      const holder = await liveLease(kv, kvKey('router', s.name));
      row.router = holder ? `running (${holder.owner})` : info ? 'not running' : 'never run';
      if (info) {
        row.routerLag = routerLag(info);
        row.routerAckFloor = info.ack_floor.stream_seq;
      }
    }
    out.push(row);
  }
  out.push(...(await webhookStatusRows(nc, kv, cfg)));
  // The processes of the fleet sharing this config, with the sources each holds.
  for (const m of members)
    out.push({
      member: m.instance,
      host: m.host,
      pid: m.pid,
      startedAt: m.startedAt,
      sources: m.sources,
    });
  if (cfg.sinks.length > 0) {
    const { sinkStatusRows } = await import('../sink/sink-status.js');
    out.push(...(await sinkStatusRows(nc, cfg, kv)));
  }
  return out;
}

/** The lease at `key` while unexpired, else null. */
async function liveLease(
  kv: KV | null,
  key: string,
): Promise<{ owner: string; expiresAt: number; instance?: string } | null> {
  const e = await kv?.get(key).catch(() => null);
  const body =
    e && e.value.length > 0 ? e.json<{ owner: string; expiresAt: number; instance?: string }>() : null;
  return body !== null && body.expiresAt > Date.now() ? body : null;
}

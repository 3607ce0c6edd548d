import type { Command } from 'commander';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { loadConfig } from '../../config/load.js';
import { secrets } from '../../config/secrets.js';
import { connectNats } from '../../nats/connection.js';
import { KvOffsetStore } from '../../nats/offset-store.js';
import { kvKey } from '../../nats/subjects.js';
import { routedSources } from '../../delivery/resource-events.js';
import { routerConsumerName, routerLag } from '../../delivery/router.js';
import { createSourceAdapter } from '../../pipeline/adapters.js';
import { webhookStatusRows } from '../../delivery/webhooks/webhook-status.js';
import { createLogger } from '../../util/logger.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'per source: state, committed offset, lag, slot and retained WAL, resource router lag; per sink: position and lag; per webhook: backlog and paused state',
    )
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      // A detail or error text never shows a secret the config loaded.
      const print = (text: string) => process.stdout.write(secrets.redact(text));
      const log = createLogger('error');
      const nc = await connectNats({ ...cfg.nats }, undefined, 'sluice-status');
      const out: Record<string, unknown>[] = [];
      try {
        const kv = await new Kvm(nc).open(cfg.nats.kvBucket).catch(() => null);
        const store = kv ? new KvOffsetStore(kv) : null;
        const jsm = await jetstreamManager(nc);
        const routed = new Set(routedSources(cfg.api?.resources ?? {}));
        for (const s of cfg.sources) {
          const row: Record<string, unknown> = { source: s.name, kind: s.kind };
          const stored = await store?.load(s.name).catch(() => null);
          const adapter = await createSourceAdapter(s, log);
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
            if (live) row.owner = leaseBody.owner;
            if (body?.detail) row.detail = body.detail;
            if (body?.pid) row.pid = body.pid;
            Object.assign(
              row,
              (await adapter.status(offset).catch((err: unknown) => ({ facts: { error: String(err) } })))
                .facts,
            );
          } finally {
            await adapter.close();
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
        if (cfg.sinks.length > 0) {
          const { sinkStatusRows } = await import('../../sink/sink-status.js');
          out.push(...(await sinkStatusRows(nc, cfg, kv)));
        }
      } finally {
        await nc.close();
      }
      if (opts.json) {
        print(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      for (const row of out) {
        print(
          typeof row.sink === 'string'
            ? `sink ${row.sink} (from ${row.from as string}): ${row.state as string}\n`
            : `${row.source} (${row.kind}): ${row.state}\n`,
        );
        for (const [k, v] of Object.entries(row)) {
          if (k === 'source' || k === 'kind' || k === 'state' || k === 'sink' || k === 'from') continue;
          const shown =
            typeof v === 'number' && /Bytes$/.test(k)
              ? `${v} (${formatBytes(v)})`
              : Array.isArray(v)
                ? v.join(', ')
                : String(v);
          print(`  ${k.padEnd(18)} ${shown}\n`);
        }
      }
    });
}

/** The lease at `key` while unexpired, else null. */
async function liveLease(kv: KV | null, key: string): Promise<{ owner: string; expiresAt: number } | null> {
  const e = await kv?.get(key).catch(() => null);
  const body = e && e.value.length > 0 ? e.json<{ owner: string; expiresAt: number }>() : null;
  return body !== null && body.expiresAt > Date.now() ? body : null;
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

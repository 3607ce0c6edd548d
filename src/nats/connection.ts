import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../config/schema.js';
import type { Logger } from '../core/source-adapter.js';

/** Connects with endless reconnects: a NATS restart must pause the pipeline, not end it. */
export async function connectNats(
  cfg: Pick<NatsConfig, 'servers' | 'user' | 'pass' | 'token'>,
  log?: Logger,
  name = 'sluice',
): Promise<NatsConnection> {
  const nc = await connect({
    servers: cfg.servers,
    name,
    user: cfg.user,
    pass: cfg.pass,
    token: cfg.token,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    pingInterval: 10_000,
  });
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
          log.warn({ nats: s.type, server: 'server' in s ? s.server : undefined }, `nats ${s.type}`);
      }
    })();
  }
  return nc;
}

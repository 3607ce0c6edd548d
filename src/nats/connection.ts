import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { AuthenticationError, BridgeError, NatsUnavailableError } from '../core/errors.js';
import type { Logger } from '../core/source-adapter.js';
import { certificateError } from '../sql/sql-tls.js';
import { natsConnectPlan, type NatsConnectConfig } from './connect-options.js';

/**
 * Connects with endless reconnects: a NATS restart must pause the pipeline, not end it. The first
 * connection is tried once per server: a certificate or credentials the server refuses fail at
 * once with a TlsCertificateError or AuthenticationError (never retried), anything else with a
 * retriable NatsUnavailableError.
 */
export async function connectNats(
  cfg: NatsConnectConfig,
  log?: Logger,
  name = 'sluice',
): Promise<NatsConnection> {
  const plan = natsConnectPlan(cfg);
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...plan.options,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
      pingInterval: 10_000,
    });
  } catch (err) {
    throw classifyNatsConnectError(
      err,
      `cannot connect to NATS (${cfg.servers.join(', ')}, auth: ${plan.auth})`,
    );
  }
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

/** Certificate and authorization failures are final; the rest (refused, timed out) may pass. */
export function classifyNatsConnectError(err: unknown, context: string): BridgeError {
  if (err instanceof BridgeError) return err;
  const cert = certificateError(err, context);
  if (cert) return cert;
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    if (e instanceof errors.AuthorizationError || e instanceof errors.UserAuthenticationExpiredError)
      return new AuthenticationError(
        `${context}: the server refused the credentials (${e.message}); check nats.creds / nats.nkey / nats.user / nats.token`,
        { cause: err },
      );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new NatsUnavailableError(`${context}: ${message}`, { cause: err });
}

// The one place NATS connection options are built from `nats:`: servers, TLS (CA, client
// certificate, handshake first) and NATS-native authentication (.creds, nkey seed, user/password,
// token). Every connection Sluice opens (sources, KV, feed, webhooks, sinks, tail, status, verify)
// goes through connectNats, which uses this.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsConfig } from '../config/schema.js';
import { secrets } from '../config/secrets.js';
import { ConfigError } from '../core/errors.js';

/** The `nats:` keys a connection needs. */
export type NatsConnectConfig = Pick<NatsConfig, 'servers'> &
  Partial<Pick<NatsConfig, 'user' | 'pass' | 'token' | 'creds' | 'nkey' | 'tls'>>;

export type NatsAuthMethod = 'creds' | 'nkey' | 'user/password' | 'token' | 'none';

export interface NatsConnectPlan {
  readonly options: NodeConnectionOptions;
  /** Which authentication the options carry (for `sluice validate --connect`). */
  readonly auth: NatsAuthMethod;
  /** TLS was asked for (nats.tls or a tls:// URL): the server certificate is verified. */
  readonly tls: boolean;
}

function readSecret(path: string, what: string): string {
  try {
    const text = readFileSync(path, 'utf8');
    secrets.add(text);
    return text;
  } catch (err) {
    throw new ConfigError(
      `nats.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      [`nats.${what}: cannot be read`],
    );
  }
}

/** An nkey seed: the value itself when it is one (SU..., from `${file:...}`), otherwise the file it names. */
function nkeySeed(value: string): Uint8Array {
  const seed = /^S[A-Z2-7]{50,}$/.test(value.trim()) ? value.trim() : readSecret(value, 'nkey').trim();
  secrets.add(seed);
  if (!/^SU[A-Z2-7]+$/.test(seed))
    throw new ConfigError('nats.nkey: expected a user nkey seed (SU...)', ['nats.nkey: not a user seed']);
  return new TextEncoder().encode(seed);
}

/**
 * The text of a `.creds` file: `nats.creds` is the file's path, or its content when the config
 * read it with `${file:...}`. The seed and the JWT inside are registered as secrets one by one, so
 * neither shows in a log line even when printed alone.
 */
function credsText(value: string): string {
  // nats.js's parser wants the newline after the last block, which `${file:}` trims.
  const text = value.includes('-----BEGIN NATS USER JWT-----') ? `${value}\n` : readSecret(value, 'creds');
  secrets.add(text);
  for (const m of text.matchAll(/-----BEGIN [A-Z ]+-----\s*([A-Za-z0-9._=-]+)\s*------?END/g)) secrets.add(m[1]);
  return text;
}

export function natsConnectPlan(cfg: NatsConnectConfig): NatsConnectPlan {
  const options: NodeConnectionOptions = { servers: [...cfg.servers] };
  let auth: NatsAuthMethod = 'none';
  if (cfg.creds !== undefined) {
    options.authenticator = credsAuthenticator(new TextEncoder().encode(credsText(cfg.creds)));
    auth = 'creds';
  } else if (cfg.nkey !== undefined) {
    options.authenticator = nkeyAuthenticator(nkeySeed(cfg.nkey));
    auth = 'nkey';
  } else if (cfg.user !== undefined) {
    options.user = cfg.user;
    if (cfg.pass !== undefined) options.pass = cfg.pass;
    secrets.add(cfg.pass);
    auth = 'user/password';
  } else if (cfg.token !== undefined) {
    options.token = cfg.token;
    secrets.add(cfg.token);
    auth = 'token';
  }
  const t = cfg.tls;
  if (t) {
    // Files are read by the transport at each (re)connect, so a rotated certificate is picked up.
    options.tls = {
      ...(t.ca ? { caFile: t.ca } : {}),
      ...(t.cert ? { certFile: t.cert } : {}),
      ...(t.key ? { keyFile: t.key } : {}),
      ...(t.handshakeFirst ? { handshakeFirst: true } : {}),
    };
  }
  const tls = t !== undefined || cfg.servers.some((s) => s.startsWith('tls://'));
  return { options, auth, tls };
}

// HTTPS for the REST service: the server options from `api.tls`, and a reloader that swaps the
// certificate in place (server.setSecureContext) when its files change or on SIGHUP, so a renewed
// certificate (cert-manager, certbot) is served without restarting the process or dropping
// connections. A file that does not load (half-written, wrong key) keeps the old certificate.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { ApiTlsConfig } from '../config/api.js';
import { secrets } from '../config/secrets.js';
import { ConfigError } from '../core/errors.js';

interface Log {
  info?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What setSecureContext needs: the running HTTPS server. */
export interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

/** Certificate, key and client CA read from their files (the key is registered as a secret). */
export function readTlsFiles(tls: ApiTlsConfig): SecureContextOptions {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `api.tls.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        [`api.tls.${what}: cannot be read`],
      );
    }
  };
  const key = read(tls.key, 'key');
  secrets.add(key);
  return { cert: read(tls.cert, 'cert'), key, ...(tls.ca ? { ca: read(tls.ca, 'ca') } : {}) };
}

/** https.createServer options: with a client CA, a client certificate is required. */
export function httpsServerOptions(tls: ApiTlsConfig): Record<string, unknown> {
  return {
    ...readTlsFiles(tls),
    ...(tls.ca ? { requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** Polls the files (fs.watch misses Kubernetes' symlink swaps) and listens for SIGHUP. */
export class TlsReloader {
  readonly #files: string[];
  #reloads = 0;
  readonly #onSignal = () => this.reload('SIGHUP');
  readonly #onChange = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) this.reload('file changed');
  };

  constructor(
    private readonly server: SecureServer,
    private readonly tls: ApiTlsConfig,
    private readonly log: Log,
    intervalMs = 1000,
  ) {
    this.#files = [tls.cert, tls.key, ...(tls.ca ? [tls.ca] : [])];
    for (const f of this.#files) watchFile(f, { interval: intervalMs, persistent: false }, this.#onChange);
    process.on('SIGHUP', this.#onSignal);
  }

  /** How many reloads succeeded. */
  get reloads(): number {
    return this.#reloads;
  }

  /** Loads the files again; on failure the current certificate stays. */
  reload(reason: string): boolean {
    try {
      this.server.setSecureContext(readTlsFiles(this.tls));
      this.#reloads++;
      (this.log.info ?? this.log.warn).call(this.log, { reason }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      this.log.warn(
        { reason, err: (err as Error).message },
        'TLS certificate not reloaded: keeping the current one',
      );
      return false;
    }
  }

  close(): void {
    for (const f of this.#files) unwatchFile(f, this.#onChange);
    process.off('SIGHUP', this.#onSignal);
  }
}

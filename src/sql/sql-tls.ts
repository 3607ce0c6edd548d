// Driver-agnostic TLS pieces every dialect's mapping uses: PEM values (a file path or the PEM
// itself), Node's TLS options for a mode, and recognising a certificate that was not trusted.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { BridgeError, TlsCertificateError } from '../core/errors.js';

/** The `tls` key of a source or sink (src/config/db-tls.ts), as the dialects read it. */
export interface DbTls {
  readonly mode: 'verify-full' | 'verify-ca' | 'require' | 'disable';
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly servername?: string | undefined;
  readonly wallet?: string | undefined;
  readonly walletPassword?: string | undefined;
}

/** A PEM value: the text itself when it looks like PEM, otherwise the file it names. */
export function readPem(value: string, what: string): string {
  if (/-----BEGIN [A-Z0-9 ]+-----/.test(value)) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new BridgeError(
      `tls.${what}: cannot read ${value} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Node `tls.connect` options for a mode: verify-full keeps Node's default host name check,
 * verify-ca checks the chain only, require checks nothing. null for `disable`.
 */
export function nodeTlsOptions(tls: DbTls): ConnectionOptions | null {
  if (tls.mode === 'disable') return null;
  return {
    rejectUnauthorized: tls.mode !== 'require',
    ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    ...(tls.ca ? { ca: readPem(tls.ca, 'ca') } : {}),
    ...(tls.cert ? { cert: readPem(tls.cert, 'cert') } : {}),
    ...(tls.key ? { key: readPem(tls.key, 'key') } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

/** Node's (OpenSSL's) codes for a peer certificate that was not trusted. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
  // mysql2 replaces the OpenSSL code of any failed handshake with its own (the reason stays in
  // the message): the certificates or TLS settings are wrong either way, and a retry cannot help.
  'HANDSHAKE_SSL_ERROR',
]);

const HINTS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID:
    'the certificate does not name this host (set tls.servername or fix the URL host)',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the server does not trust our client certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the server rejected our client certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the server says our client certificate has expired',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server requires a client certificate (tls.cert/tls.key)',
  HANDSHAKE_SSL_ERROR: 'the TLS handshake failed (check tls.ca, the host name and the certificate dates)',
};

/** The OpenSSL/Node code of a certificate failure in `err` or its causes, or null. */
export function certificateFailure(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** A TlsCertificateError when `err` is a certificate failure, else null. */
export function certificateError(err: unknown, context: string): TlsCertificateError | null {
  const code = certificateFailure(err);
  if (code === null) return null;
  const hint = HINTS[code] ?? 'the certificate does not chain to the configured CA (tls.ca)';
  const detail = (err as { message?: string }).message ?? code;
  return new TlsCertificateError(`${context}: TLS certificate rejected: ${hint} [${code}: ${detail}]`, {
    cause: err,
  });
}

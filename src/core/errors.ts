// Error classes with a stable `code`, `retriable` and `cause`. The retry loop reads only `retriable`.

export interface BridgeErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class BridgeError extends Error {
  readonly code: string = 'SLUICE_ERROR';
  readonly retriable: boolean;

  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration file or CLI argument is wrong. Exit code 2. */
export class ConfigError extends BridgeError {
  override readonly code = 'CONFIG_INVALID';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A prerequisite of a source is missing (wal_level, privileges, replica identity...). */
export class PreflightError extends BridgeError {
  override readonly code = 'PREFLIGHT_FAILED';
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}

/** The source cannot be reached right now (network, restart). Retried with backoff. */
export class SourceUnavailableError extends BridgeError {
  override readonly code = 'SOURCE_UNAVAILABLE';
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** The position we must resume from no longer exists at the source (slot dropped, log purged). Never retried: resuming elsewhere would lose changes silently. */
export class OffsetLostError extends BridgeError {
  override readonly code = 'OFFSET_LOST';
}

/** Another instance advanced the committed offset (compare-and-set failed). */
export class OffsetConflictError extends BridgeError {
  override readonly code = 'OFFSET_CONFLICT';
}

/**
 * This process no longer holds (or cannot prove it holds) the lease on a source: another instance
 * took it, or it expired. The source stops streaming and goes back to waiting for the lease.
 */
export class LeaseLostError extends BridgeError {
  override readonly code = 'LEASE_LOST';
}

/** NATS did not answer (timeout, reconnect): the outcome is unknown. Retried from the committed offset. */
export class NatsUnavailableError extends BridgeError {
  override readonly code = 'NATS_UNAVAILABLE';
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** Publishing to JetStream failed for a reason that retrying will not fix. */
export class PublishError extends BridgeError {
  override readonly code = 'PUBLISH_FAILED';
}

/**
 * A TLS peer was not trusted: its certificate does not chain to the configured CA, has expired,
 * or does not name the host. Never retried: the same certificate fails the same way every time.
 */
export class TlsCertificateError extends BridgeError {
  override readonly code = 'TLS_CERTIFICATE';
}

/** A server refused Sluice's credentials (NATS authorization violation, wrong nkey or token). Never retried. */
export class AuthenticationError extends BridgeError {
  override readonly code = 'AUTH_FAILED';
}

export function isRetriable(err: unknown): boolean {
  return err instanceof BridgeError ? err.retriable : false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

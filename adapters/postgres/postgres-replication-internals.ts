// The one place that reaches into pg-logical-replication's internals: the replication
// connection's socket, which the streaming loop pauses while its queue is full (the library's own
// flow control awaits a promise per message; see postgres-streaming.ts). The library does not
// export it, so if a release moves it, this module says so loudly instead of letting pausing
// silently stop and the queue grow without bound. test/integration/postgres-backpressure.test.ts
// fails when pausing the real library's socket no longer holds data back.
import { BridgeError } from '../../src/core/errors.js';

/** What we use of the socket under the replication connection (a node `net.Socket`). */
export interface PausableSocket {
  pause(): unknown;
  resume(): unknown;
}

/** pg-logical-replication no longer exposes the replication socket where this module looks. */
export class ReplicationInternalsError extends BridgeError {
  override readonly code = 'PG_REPLICATION_INTERNALS';
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/**
 * The socket of a started LogicalReplicationService (`service._connection.stream`, the pg
 * `Connection`'s socket; set by `subscribe()` before replication starts). Throws
 * ReplicationInternalsError when it is not there or cannot be paused.
 */
export function replicationSocket(service: object): PausableSocket {
  const connection: unknown = (service as { _connection?: unknown })._connection;
  const stream: unknown =
    connection !== null && typeof connection === 'object'
      ? (connection as { stream?: unknown }).stream
      : undefined;
  const s = stream as Partial<PausableSocket> | null | undefined;
  if (!s || typeof s.pause !== 'function' || typeof s.resume !== 'function')
    throw new ReplicationInternalsError(
      connection === null || connection === undefined
        ? 'pg-logical-replication: the replication service has no _connection; cannot apply back-pressure ' +
            '(was the library upgraded? see adapters/postgres/postgres-replication-internals.ts)'
        : 'pg-logical-replication: _connection.stream is missing or has no pause()/resume(); cannot apply ' +
            'back-pressure (was the library upgraded? see adapters/postgres/postgres-replication-internals.ts)',
    );
  return s as PausableSocket;
}

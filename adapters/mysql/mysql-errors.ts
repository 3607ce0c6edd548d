// Classifies mysql2 and zongji errors into BridgeErrors: network and restarts are retriable, a
// purged or rewound binlog is OFFSET_LOST (never retried: resuming elsewhere would lose changes),
// a server_id taken by another reader says so instead of reconnecting for ever.
import { BridgeError, OffsetLostError } from '../../src/core/errors.js';
import { errorProps } from '../../src/sql/sql-dialect.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';
import { certificateError } from '../../src/sql/sql-tls.js';

export class MysqlError extends BridgeError {
  override readonly code: string = 'MYSQL_ERROR';
}

/** Another replica or binlog reader connected with this source's server_id and the server dropped us. */
export class ServerIdClashError extends BridgeError {
  override readonly code = 'MYSQL_SERVER_ID_CLASH';
}

/** What to do when the position is gone: the re-snapshot command. */
export function resnapshotHint(source: string): string {
  return `re-snapshot the source: stop sluice, run \`nats kv del sluice_offsets offset.${source}\` (the offset bucket of your nats.kvBucket) and start it again`;
}

/**
 * ER_MASTER_FATAL_ERROR_READING_BINLOG (1236): the binlog or GTID position asked for is purged
 * or unknown; MariaDB 1945/1955: the GTID position is ahead of the server's binlog (a rewound or
 * restored server) or names a domain it never had.
 */
const LOST = new Set([1236, 1945, 1955]);

export function classifyMysqlError(err: unknown, context: string, source: string): BridgeError {
  if (err instanceof BridgeError) return err;
  const cert = certificateError(err, context);
  if (cert) return cert;
  const p = errorProps(err);
  // MariaDB tells the older reader (as error 1236) when a newer one connects with its server_id.
  if (/same server_uuid\/server_id|same server_id|same server_uuid/i.test(p.message))
    return new ServerIdClashError(
      `${context}: ${p.message}: another replica or binlog reader uses this source's server_id; set serverId to a value no other replica of this server uses`,
      { cause: err },
    );
  if (p.errno !== undefined && LOST.has(p.errno))
    return new OffsetLostError(`${context}: ${p.message} (${resnapshotHint(source)})`, { cause: err });
  return classifySqlError(err, context, (message, options) => new MysqlError(message, options));
}

// The replication socket lookup raises a clear, non-retriable error when pg-logical-replication
// no longer has the field, instead of silently not pausing.
import { describe, expect, test } from 'vitest';
import {
  ReplicationInternalsError,
  replicationSocket,
} from '../../adapters/postgres/postgres-replication-internals.js';
import { BridgeError } from '../../src/core/errors.js';

describe('replicationSocket', () => {
  test.each([
    ['no _connection', {}],
    ['_connection null (not connected)', { _connection: null }],
    ['_connection without stream', { _connection: {} }],
    ['a stream without pause()', { _connection: { stream: { resume() {} } } }],
    ['a stream that is not an object', { _connection: { stream: 42 } }],
  ])('%s: ReplicationInternalsError', (_what, service) => {
    let caught: unknown;
    try {
      replicationSocket(service);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ReplicationInternalsError);
    expect(caught).toBeInstanceOf(BridgeError);
    expect(caught).toMatchObject({ code: 'PG_REPLICATION_INTERNALS', retriable: false });
    expect((caught as Error).message).toMatch(/pg-logical-replication.*back-pressure/);
  });

  test('a service with a pausable socket gives that socket', () => {
    const stream = { pause() {}, resume() {} };
    expect(replicationSocket({ _connection: { stream } })).toBe(stream);
  });
});

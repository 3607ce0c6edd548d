import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { describe, expect, test } from 'vitest';
import {
  describeNatsError,
  isNoResponders,
  isPermanentPublishError,
  isStreamNotFound,
  isTransientJetStreamError,
  isWrongLastSequence,
  jsApiCode,
} from '../../src/nats/jetstream-errors.js';

const api = (code: number, err_code: number, description: string) =>
  new JetStreamApiError({ code, err_code, description });

describe('JetStream errors by API error code', () => {
  test('the code is read from the error or its causes, never from the text', () => {
    expect(jsApiCode(api(400, 10071, 'wrong last sequence: 5'))).toBe(10071);
    expect(isWrongLastSequence(new Error('wrapped', { cause: api(400, 10071, 'anything') }))).toBe(true);
    expect(isWrongLastSequence(api(400, 10164, 'reworded by a newer server'))).toBe(true);
    expect(isWrongLastSequence(new Error('wrong last sequence: 5'))).toBe(false);
    expect(isStreamNotFound(api(404, 10059, 'stream not found'))).toBe(true);
    expect(isStreamNotFound(new Error('stream not found'))).toBe(false);
  });

  test('PubAck errors: 4xx and known codes are permanent, 5xx (stream full, elections) pass', () => {
    expect(isPermanentPublishError({ code: 400, err_code: 10054 })).toBe(true);
    expect(isPermanentPublishError({ code: 404, err_code: 10059 })).toBe(true);
    expect(isPermanentPublishError({ code: 400 })).toBe(true);
    expect(isPermanentPublishError({ code: 503, err_code: 10077 })).toBe(false);
    expect(isPermanentPublishError({ code: 503, err_code: 10008 })).toBe(false);
    expect(isPermanentPublishError({ code: 500 })).toBe(false);
    expect(isPermanentPublishError({})).toBe(false);
  });

  test('a request nobody answered is described as such, not as "jetstream is not enabled"', () => {
    const nobody = new Error('jetstream is not enabled', {
      cause: new errors.RequestError('no responders', { cause: new errors.NoRespondersError('$KV.b.k') }),
    });
    expect(isNoResponders(nobody)).toBe(true);
    expect(describeNatsError(nobody)).toMatch(/no JetStream server answered/);
    expect(describeNatsError(new errors.TimeoutError())).toBe('NATS did not answer in time');
    expect(describeNatsError(new Error('other'))).toBe('other');
  });

  test('provisioning waits out a forming cluster or an election, and fails at once on a bad request', () => {
    expect(isTransientJetStreamError(api(503, 10008, 'JetStream system temporarily unavailable'))).toBe(true);
    expect(isTransientJetStreamError(api(500, 10023, 'insufficient resources'))).toBe(true);
    expect(isTransientJetStreamError(new errors.NoRespondersError('$JS.API.INFO'))).toBe(true);
    expect(isTransientJetStreamError(new errors.TimeoutError())).toBe(true);
    expect(
      isTransientJetStreamError(api(400, 10058, 'stream name already in use with a different configuration')),
    ).toBe(false);
    expect(isTransientJetStreamError(new Error('temporarily unavailable'))).toBe(false);
  });
});

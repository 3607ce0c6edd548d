// JetStream and KV failures told apart by the JetStream API error code the server sends
// (`{"error":{"code":<status>,"err_code":<code>}}`, read by nats.js into JetStreamApiError.code),
// never by the text of a message, which servers and clients reword between versions.
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { errorMessage } from '../core/errors.js';

/** The API error codes Sluice acts on (nats-server's server/errors.json). */
export const JsApiCode = {
  NoMessageFound: 10037,
  ConsumerNotFound: 10014,
  MessageTooLarge: 10054,
  StreamNotFound: 10059,
  StreamNotMatch: 10060,
  WrongLastMsgId: 10070,
  WrongLastSequence: 10071,
  WrongLastSequenceUnknown: 10164,
} as const;

/** Codes a publish can never recover from by being sent again as it is. */
const PERMANENT_PUBLISH = new Set<number>([
  JsApiCode.MessageTooLarge,
  JsApiCode.StreamNotFound,
  JsApiCode.StreamNotMatch,
  JsApiCode.WrongLastMsgId,
  JsApiCode.WrongLastSequence,
  JsApiCode.WrongLastSequenceUnknown,
]);

/** The JetStream API error code of `err` or of an error in its cause chain, if any. */
export function jsApiCode(err: unknown): number | undefined {
  for (const e of causes(err)) if (e instanceof JetStreamApiError) return e.code;
  return undefined;
}

/** A compare-and-set on a KV key or stream subject found another revision than the one expected. */
export function isWrongLastSequence(err: unknown): boolean {
  const code = jsApiCode(err);
  return code === JsApiCode.WrongLastSequence || code === JsApiCode.WrongLastSequenceUnknown;
}

export function isStreamNotFound(err: unknown): boolean {
  return jsApiCode(err) === JsApiCode.StreamNotFound;
}

export function isNoMessageFound(err: unknown): boolean {
  return jsApiCode(err) === JsApiCode.NoMessageFound;
}

/**
 * Whether an error in a PubAck will come back however often the event is resent. The known codes
 * decide; otherwise the status does: 4xx is a request the stream refuses (bad request, limits of
 * the message itself), 5xx a state that passes (stream full under `discard: new`, a leader
 * election, storage trouble).
 */
export function isPermanentPublishError(error: { code?: number; err_code?: number }): boolean {
  if (error.err_code !== undefined && PERMANENT_PUBLISH.has(error.err_code)) return true;
  const status = error.code ?? 0;
  return status >= 400 && status < 500;
}

function* causes(err: unknown): Generator<Error> {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) yield e;
}

/** Nothing answered the request: during a NATS restart or a stream/KV leader election. */
export function isNoResponders(err: unknown): boolean {
  for (const e of causes(err)) if (e instanceof errors.NoRespondersError) return true;
  return false;
}

/**
 * A NATS failure in words an operator can act on. nats.js reports a JetStream request nobody
 * answered as "jetstream is not enabled", which during a leader election is misleading.
 */
export function describeNatsError(err: unknown): string {
  if (isNoResponders(err)) return 'no JetStream server answered (NATS restarting or electing a leader)';
  for (const e of causes(err)) if (e instanceof errors.TimeoutError) return 'NATS did not answer in time';
  return errorMessage(err);
}

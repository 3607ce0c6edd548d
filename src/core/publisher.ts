// What the pipeline needs from the bus it publishes to. Implemented by src/nats/publisher.ts;
// core names no bus and no driver.

export interface PublishRequest {
  readonly subject: string;
  /** The message body: a string is sent as UTF-8. */
  readonly payload: string | Uint8Array;
  /** The bus's deduplication id (NATS: Nats-Msg-Id), deterministic per change. */
  readonly msgId: string;
  /** Headers besides the deduplication id, already rendered: `Name: value\r\n` each. */
  readonly headers?: string;
  /** When the change was committed at the source (ms), for the commit→ack histogram. */
  readonly committedAtMs?: number | undefined;
}

/**
 * Publishes events in order with a window in flight. Sequence numbers are the publisher's own
 * (1, 2, 3...), not the stream's: `ackedThrough` moves only over a contiguous prefix of them, so an
 * offset is committed only once every event before it is stored.
 */
export interface Publisher {
  /** Every sequence number up to this one is stored. */
  readonly ackedThrough: number;
  /** The sequence number the last publish()/trySend() got. */
  readonly lastSeq: number;
  /** The largest message the bus takes now, in bytes. */
  readonly maxPayload: number;
  /** Sends now if the window has room (returns the sequence number), else returns 0. */
  trySend(req: PublishRequest): number;
  /** Sends, waiting for room in the window; rejects once the publisher has failed for good. */
  publish(req: PublishRequest): Promise<number>;
  /** Resolves when every event up to `seq` (default: all so far) is stored. */
  waitAcked(seq?: number): Promise<void>;
  close(): Promise<void>;
}

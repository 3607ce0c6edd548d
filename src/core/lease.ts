// A source's lease: which of several instances streams it, and the fence around what only the
// holder may do (commit its offset, acknowledge the source). Implemented by src/nats/lease.ts;
// core names no bus.
import type { Logger } from './source-adapter.js';

export interface LeaseFence {
  /**
   * Before committing an offset: resolves while the lease this process last wrote is unexpired by
   * its own clock (no I/O); when it is about to expire, renews it by compare-and-set first. Throws
   * LeaseLostError when that fails (another instance took it, or NATS cannot be reached).
   */
  assertHeld(): Promise<void>;
  /**
   * Before acknowledging the source: reads the lease back. True when it is still this process's,
   * false when that cannot be known now (skip this acknowledgement; a later one covers it), and
   * throws LeaseLostError when another instance holds it or it is gone.
   */
  confirmHeld(): Promise<boolean>;
}

export interface Lease extends LeaseFence {
  /** Names this instance alone. */
  readonly owner: string;
  /** True from a successful take until the lease is lost, released or dropped. */
  readonly held: boolean;
  /**
   * Waits until this instance holds the lease (false if `signal` aborts first), then keeps it
   * renewed; `onLost` fires if it is lost. With `gate`, a take is tried only while `gate.reserve()`
   * grants a place (a fleet's share), and the place is returned with `gate.cancel()` when the take fails.
   */
  acquire(
    signal: AbortSignal,
    log: Logger,
    onLost: (err: Error) => void,
    gate?: { reserve(): boolean; cancel(): void },
  ): Promise<boolean>;
  /** Gives the lease up if this instance holds it (clean shutdown). */
  drop(): Promise<void>;
}

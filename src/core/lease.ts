// The fence a source's lease puts around what only the lease holder may do: commit its offset and
// acknowledge the source. Implemented by src/nats/lease.ts; core names no bus.

export interface LeaseFence {
  /**
   * Before committing an offset: throws LeaseLostError unless the lease this process last wrote is
   * still unexpired by its own clock (no I/O).
   */
  assertHeld(): void;
  /**
   * Before acknowledging the source: reads the lease back. True when it is still this process's
   * (same revision), false when that cannot be known now (skip this acknowledgement; a later one
   * covers it), and throws LeaseLostError when another instance holds it or it is gone.
   */
  confirmHeld(): Promise<boolean>;
}

// How many sources one process of a fleet may stream: N identical `sluice run` processes with one
// config of M sources each take at most ceil(M/N). Implemented over NATS KV by src/nats/fleet.ts.

export interface FleetShare {
  /** Claims a place for `source` if this process holds fewer sources than its share. */
  reserve(source: string): boolean;
  /** Gives back a place: `source` was not taken, was handed over or lost. */
  release(source: string): void;
  /**
   * True when this process holds more than its share and `source` is the one to hand over now
   * (one at a time, so the fleet settles without every process dropping sources at once).
   */
  shouldYield(source: string): boolean;
}

// Typed offsets: the adapter that makes an offset owns how it is written, read and compared (STYLE.md §9).

/** Serialize, parse and compare one adapter's offsets. Offsets are opaque to the pipeline. */
export interface OffsetCodec<O> {
  /** A JSON-safe form for the offset store. */
  serialize(offset: O): string;
  /** Reverse of `serialize`; throws a BridgeError on a value it did not write. */
  parse(text: string): O;
  /** Negative when `a` is before `b`, zero when equal, positive after. */
  compare(a: O, b: O): number;
  /** A short human form for logs and `sluice status`. */
  describe(offset: O): string;
}

/** What the offset store holds for one source. */
export interface StoredOffset {
  readonly offset: string;
  readonly revision: number;
  readonly updatedAt: string;
}

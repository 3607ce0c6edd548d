// Typed offsets: the adapter that makes an offset owns how it is written, read and compared.
import { BridgeError } from './errors.js';

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

/**
 * Reads an offset that was written as JSON and checks it against the adapter's schema; throws
 * a BridgeError naming the adapter when the text is not one of its offsets.
 */
export function parseJsonOffset<T>(
  text: string,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  kind: string,
): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BridgeError(`unreadable ${kind} offset: ${text}`, { cause: err });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new BridgeError(`unreadable ${kind} offset: ${text}`);
  return r.data;
}

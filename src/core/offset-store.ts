// Where committed offsets live. Implemented by src/nats/offset-store.ts (a KV bucket).
import type { StoredOffset } from './offset.js';

export interface OffsetStore {
  /** The committed offset of `source` (null if none); remembers its revision for the next commit. */
  load(source: string): Promise<StoredOffset | null>;
  /**
   * Writes `offset` if nobody else wrote since this store's load/commit (compare-and-set), and
   * returns the new revision; throws OffsetConflictError when another process wrote in between.
   */
  commit(source: string, offset: string): Promise<number>;
}

// The stream's last sequence among one source's events, for `sluice verify`'s "compared at" point.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConfig } from '../config/schema.js';
import { connectNats } from './connection.js';
import { isNoMessageFound } from './jetstream-errors.js';
import { sourceWildcard } from './subjects.js';

export interface StreamPosition {
  /** The last sequence of the source's events; 0 when none; null when NATS cannot be reached. */
  lastSeq(): Promise<number | null>;
  close(): Promise<void>;
}

export async function streamPosition(cfg: NatsConfig, source: string): Promise<StreamPosition> {
  const nc = await connectNats({ ...cfg }, undefined, 'sluice-verify').catch(() => null);
  if (!nc) return { lastSeq: async () => null, close: async () => {} };
  const jsm = await jetstreamManager(nc);
  return {
    async lastSeq() {
      try {
        const m = await jsm.streams.getMessage(cfg.stream, {
          last_by_subj: sourceWildcard(cfg.subjectPrefix, source),
        });
        return m?.seq ?? 0;
      } catch (err) {
        return isNoMessageFound(err) ? 0 : null;
      }
    },
    close: () => nc.close(),
  };
}

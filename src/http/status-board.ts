// What the status page shows (GET /status, /status.json): the rows of `sluice status` (state, lease
// holder, committed position, lag) plus what only a running observer can tell: events per second
// per source over the last minutes (sampled from the stream's per-subject counts), the newest
// events, and dead-letter counts. Connects to NATS on the first request and samples only while the
// page is being watched; snapshots are cached briefly so many viewers cost one read.
import { jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import type { AnySourceAdapter, Logger } from '../core/source-adapter.js';
import { connectNats } from '../nats/connection.js';
import { escapeToken, sourceWildcard } from '../nats/subjects.js';
import { statusRows } from '../pipeline/status-rows.js';

export interface StatusSnapshot {
  readonly at: string;
  /** `sluice status` rows: sources (and webhooks, kind webhook), sinks, fleet members. */
  readonly rows: Record<string, unknown>[];
  /** Per source, events per second between consecutive samples (oldest first). */
  readonly rates: Record<string, { t: number; perSec: number }[]>;
  /** Per source: when its newest event was stored, and how long after its commit (seconds). */
  readonly latest: Record<string, { storedAt: string; lagSeconds: number | null } | null>;
  /** The newest events of the stream, newest first. */
  readonly lastEvents: { seq: number; subject: string; time: string; key: string | null }[];
  /** Dead letters held, by subject suffix after `<prefix>.dlq.` (`<source>`, `webhooks.<name>`, `sinks.<name>`). */
  readonly dlq: Record<string, number>;
}

/** What the HTTP layer needs: a snapshot on demand. */
export interface StatusSource {
  snapshot(): Promise<StatusSnapshot>;
  close(): Promise<void>;
}

export interface StatusBoardOptions {
  readonly sampleMs?: number;
  readonly historyMs?: number;
  /** Sampling stops when nobody asked for this long. */
  readonly idleMs?: number;
  readonly log?: Logger;
}

interface Sample {
  t: number;
  counts: Map<string, number>;
}

const LAST_EVENTS = 12;

export class StatusBoard implements StatusSource {
  readonly #cfg: SluiceConfig;
  readonly #o: Required<Omit<StatusBoardOptions, 'log'>> & { log?: Logger };
  readonly #adapters = new Map<string, AnySourceAdapter>();
  #nc: Promise<NatsConnection> | null = null;
  #samples: Sample[] = [];
  #dlq: Record<string, number> = {};
  #timer: NodeJS.Timeout | null = null;
  #askedAt = 0;
  #cached: { t: number; p: Promise<StatusSnapshot> } | null = null;
  readonly #silent: Logger;

  constructor(cfg: SluiceConfig, opts: StatusBoardOptions = {}) {
    this.#cfg = cfg;
    this.#o = { sampleMs: 5000, historyMs: 5 * 60_000, idleMs: 2 * 60_000, ...opts };
    const noop = () => {};
    this.#silent = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop } as Logger;
  }

  snapshot(): Promise<StatusSnapshot> {
    const now = Date.now();
    this.#askedAt = now;
    this.#ensureSampling();
    if (this.#cached && now - this.#cached.t < 1000) return this.#cached.p;
    const p = this.#read();
    this.#cached = { t: now, p };
    p.catch(() => (this.#cached = null));
    return p;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#adapters.values()].map((a) => a.close()));
    if (this.#nc) await (await this.#nc.catch(() => null))?.close();
  }

  #conn(): Promise<NatsConnection> {
    this.#nc ??= connectNats(this.#cfg.nats, undefined, 'sluice-status-page');
    this.#nc.catch(() => (this.#nc = null));
    return this.#nc;
  }

  #ensureSampling(): void {
    if (this.#timer) return;
    void this.#sample();
    this.#timer = setInterval(() => {
      if (Date.now() - this.#askedAt > this.#o.idleMs) {
        // Nobody is watching: stop, and start afresh (no gap in a chart) when someone is.
        clearInterval(this.#timer!);
        this.#timer = null;
        this.#samples = [];
        return;
      }
      void this.#sample();
    }, this.#o.sampleMs);
    this.#timer.unref();
  }

  /** One read of the stream's per-subject counts: events per source and dead letters. */
  async #sample(): Promise<void> {
    try {
      const jsm = await jetstreamManager(await this.#conn());
      const prefix = this.#cfg.nats.subjectPrefix;
      const info = await jsm.streams.info(this.#cfg.nats.stream, { subjects_filter: `${prefix}.>` });
      const byToken = new Map(this.#cfg.sources.map((s) => [escapeToken(s.name), s.name]));
      const counts = new Map(this.#cfg.sources.map((s) => [s.name, 0]));
      const dlq: Record<string, number> = {};
      for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
        const tokens = subject.split('.');
        if (tokens[1] === 'dlq') dlq[tokens.slice(2).join('.')] = (dlq[tokens.slice(2).join('.')] ?? 0) + n;
        else if (tokens.at(-1) === '_dlq') dlq[tokens[1]!] = (dlq[tokens[1]!] ?? 0) + n;
        else {
          const source = byToken.get(tokens[1]!);
          if (source !== undefined) counts.set(source, counts.get(source)! + n);
        }
      }
      const t = Date.now();
      this.#samples.push({ t, counts });
      this.#samples = this.#samples.filter((s) => s.t >= t - this.#o.historyMs);
      this.#dlq = dlq;
    } catch (err) {
      this.#o.log?.debug({ err: String(err) }, 'status page: sampling the stream failed');
    }
  }

  #rates(): StatusSnapshot['rates'] {
    const out: Record<string, { t: number; perSec: number }[]> = {};
    for (const s of this.#cfg.sources) {
      out[s.name] = [];
      for (let i = 1; i < this.#samples.length; i++) {
        const a = this.#samples[i - 1]!;
        const b = this.#samples[i]!;
        // Retention limits can shrink a count: never a negative rate.
        const d = Math.max(0, (b.counts.get(s.name) ?? 0) - (a.counts.get(s.name) ?? 0));
        out[s.name]!.push({ t: b.t, perSec: Math.round((d * 10_000) / Math.max(1, b.t - a.t)) / 10 });
      }
    }
    return out;
  }

  async #read(): Promise<StatusSnapshot> {
    const nc = await this.#conn();
    const jsm = await jetstreamManager(nc);
    const rows = await statusRows(this.#cfg, nc, this.#silent, this.#adapters);
    const latest: StatusSnapshot['latest'] = {};
    for (const s of this.#cfg.sources) latest[s.name] = await this.#latest(jsm, s.name);
    return {
      at: new Date().toISOString(),
      rows,
      rates: this.#rates(),
      latest,
      lastEvents: await this.#lastEvents(jsm),
      dlq: this.#dlq,
    };
  }

  async #latest(jsm: JetStreamManager, source: string): Promise<StatusSnapshot['latest'][string]> {
    const m = await jsm.streams
      .getMessage(this.#cfg.nats.stream, {
        last_by_subj: sourceWildcard(this.#cfg.nats.subjectPrefix, source),
      })
      .catch(() => null);
    if (!m) return null;
    let tsMs: number | undefined;
    try {
      tsMs = m.json<{ source?: { ts_ms?: number } }>().source?.ts_ms;
    } catch {
      tsMs = undefined;
    }
    return {
      storedAt: m.time.toISOString(),
      lagSeconds: typeof tsMs === 'number' ? Math.max(0, (m.time.getTime() - tsMs) / 1000) : null,
    };
  }

  async #lastEvents(jsm: JetStreamManager): Promise<StatusSnapshot['lastEvents']> {
    const info = await jsm.streams.info(this.#cfg.nats.stream).catch(() => null);
    if (!info) return [];
    const out: StatusSnapshot['lastEvents'] = [];
    const first = info.state.first_seq;
    for (let seq = info.state.last_seq; seq >= first && seq > 0 && out.length < LAST_EVENTS; seq--) {
      if (info.state.last_seq - seq > 4 * LAST_EVENTS) break; // deleted messages: do not walk far
      const m: StoredMsg | null = await jsm.streams
        .getMessage(this.#cfg.nats.stream, { seq })
        .catch(() => null);
      if (!m) continue;
      out.push({
        seq,
        subject: m.subject,
        time: m.time.toISOString(),
        key: m.header?.get('Sluice-Key') || null,
      });
    }
    return out;
  }
}

// The members of a fleet of `sluice run` processes sharing one config, in the KV bucket: each
// process writes `member.<instance>` (instance id, host, pid, the sources it holds, an expiry) every
// ttl/3 and counts the live members on the same beat. Its share of the M sources is ceil(M/N);
// it takes no source past that (FleetShare.reserve), and hands sources over one at a time while it
// holds more (a member joined): the coordinator stops the source, commits, drops the lease, and a
// member below its share takes it. A killed member's entry expires after the lease ttl, and the
// others' shares grow again. Who streams a source is still decided only by the source's lease
// (compare-and-set) and fenced by the offset's revision: the share only decides who tries.
import type { KV } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { FleetShare } from '../core/fleet-share.js';
import type { Logger } from '../core/source-adapter.js';
import { describeNatsError } from './jetstream-errors.js';
import { kvKey } from './subjects.js';

/** What a member writes about itself (also read by `sluice status`). */
export interface MemberBody {
  instance: string;
  host: string;
  pid: number;
  startedAt: string;
  expiresAt: number;
  /** The sources this member holds (or is about to take). */
  sources: string[];
  /**
   * Which fleet: a hash of the config's source names. Processes sharing the bucket with another
   * set of sources (one process per source, say) are not members of this fleet and do not shrink
   * its share.
   */
  fleet: string;
}

/** The fleet id of a set of source names. */
export function fleetId(sources: readonly string[]): string {
  return createHash('sha256')
    .update([...sources].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
}

export class Fleet implements FleetShare {
  readonly instance: string;
  readonly #kv: KV;
  readonly #ttlMs: number;
  readonly #sourceCount: number;
  readonly #fleet: string;
  readonly #log: Logger;
  readonly #held = new Set<string>();
  readonly #startedAt = new Date().toISOString();
  #members = 1;
  #yielding: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #beat: Promise<void> | null = null;

  constructor(kv: KV, opts: { sources: readonly string[]; ttlMs: number; log: Logger }) {
    this.#kv = kv;
    this.#ttlMs = opts.ttlMs;
    this.#sourceCount = opts.sources.length;
    this.#fleet = fleetId(opts.sources);
    this.#log = opts.log;
    // A KV key token: letters, digits, - and _ only.
    const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    this.instance = `${host}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Announces this member and counts the others before any source is taken; then beats every ttl/3. */
  async start(): Promise<void> {
    await this.#heartbeat();
    this.#timer = setInterval(
      () => {
        this.#beat ??= this.#heartbeat().finally(() => (this.#beat = null));
      },
      Math.max(100, this.#ttlMs / 3),
    );
    this.#timer.unref();
  }

  /** Leaves the fleet at once (clean shutdown): the others' shares grow without waiting for expiry. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#beat;
    await this.#kv.delete(kvKey('member', this.instance)).catch(() => {});
  }

  /** ceil(M / live members): what this process may hold. */
  get share(): number {
    return Math.ceil(this.#sourceCount / Math.max(1, this.#members));
  }

  get members(): number {
    return this.#members;
  }

  reserve(source: string): boolean {
    if (this.#held.has(source)) return true;
    if (this.#held.size >= this.share) return false;
    this.#held.add(source);
    return true;
  }

  release(source: string): void {
    this.#held.delete(source);
    if (this.#yielding === source) this.#yielding = null;
  }

  shouldYield(source: string): boolean {
    if (!this.#held.has(source) || this.#held.size <= this.share) return false;
    if (this.#yielding !== null && this.#yielding !== source) return false;
    this.#yielding = source;
    return true;
  }

  async #heartbeat(): Promise<void> {
    const body: MemberBody = {
      instance: this.instance,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      expiresAt: Date.now() + this.#ttlMs,
      sources: [...this.#held].sort(),
      fleet: this.#fleet,
    };
    try {
      await this.#kv.put(kvKey('member', this.instance), JSON.stringify(body));
      const live = (await liveMembers(this.#kv)).filter((m) => m.fleet === this.#fleet);
      // This member counts even if its own write is not visible yet.
      const n = Math.max(1, live.length + (live.some((m) => m.instance === this.instance) ? 0 : 1));
      if (n !== this.#members)
        this.#log.info({ members: n, share: Math.ceil(this.#sourceCount / n) }, 'fleet membership changed');
      this.#members = n;
    } catch (err) {
      // NATS out of reach: keep the last count; the leases fence whatever happens meanwhile.
      this.#log.debug?.({ err: describeNatsError(err) }, 'fleet heartbeat failed');
    }
  }
}

/** Every member whose entry is unexpired. */
export async function liveMembers(kv: KV): Promise<MemberBody[]> {
  // A key rewritten while the listing runs can be listed twice.
  const keys = new Set<string>();
  for await (const k of await kv.keys('member.*')) keys.add(k);
  const out: MemberBody[] = [];
  for (const k of keys) {
    const e = await kv.get(k);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) continue;
    const m = e.json<MemberBody>();
    if (m.expiresAt > Date.now()) out.push(m);
  }
  return out.sort((a, b) => a.instance.localeCompare(b.instance));
}

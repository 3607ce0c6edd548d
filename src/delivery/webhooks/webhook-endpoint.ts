// One webhook endpoint at run time: a durable JetStream pull consumer (`sluice_webhook_<name>`) on
// the resource events, strict order per key with `concurrency` keys in parallel, an ack only after
// the endpoint accepted the event or it was dead-lettered, and a pause on 410 Gone. Of several
// `sluice run` processes with one config, only the holder of the endpoint's lease
// (`webhook-lease.<name>` in the KV bucket) runs its consumer; the others wait to take over, and a
// holder that loses the lease stops sending and goes back to waiting.
//
//   lease ──► paused? ──yes──► wait for `sluice webhook resume` (or a new URL) ──┐
//     ▲          │ no                                                            │
//     │          ▼                                                               │
//     │   prepare consumer (recreated from the ack floor when a run left events  │
//     │          │         unacknowledged, so per-key order holds after a crash) │
//     │          ▼                                                               │
//     └──── consume ──► 410: save the pause ─────────────────────────────────────┘
//                  └──► stop signal: in-flight events stay unacknowledged (redelivered later)
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { WebhookConfig } from '../../config/webhooks.js';
import { errorMessage, LeaseLostError } from '../../core/errors.js';
import type { Lease } from '../../core/lease.js';
import type { ResourceMapping } from '../../core/mapping.js';
import type { Logger } from '../../core/source-adapter.js';
import { describeNatsError, isConsumerNotFound } from '../../nats/jetstream-errors.js';
import { compileRowPredicate, parseFilterQuery, type RowPredicate } from '../../resources/filter-match.js';
import { sleep } from '../../util/sleep.js';
import {
  parseResourceSubject,
  resourceEventSchema,
  resourceWildcard,
  type ResourceEventType,
} from '../resource-event.js';
import type { DeliveryLogWriter } from './delivery-log.js';
import { KeyedScheduler } from './keyed-scheduler.js';
import { publishDeadLetter } from './webhook-dlq.js';
import { watchEndpoint } from './webhook-metrics.js';
import { webhookMetrics } from './webhook-metrics.js';
import { WebhookSender, type SendOutcome } from './webhook-sender.js';
import { loadWebhookState, saveWebhookState, type WebhookState } from './webhook-state.js';

const NANOS = 1_000_000;

export interface EndpointDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly stream: string;
  readonly prefix: string;
  readonly cfg: WebhookConfig;
  /** The resources this endpoint listens to (its list, or every resource). */
  readonly resources: ReadonlyMap<string, ResourceMapping>;
  readonly deliveryLog: DeliveryLogWriter;
  readonly log: Logger;
  /** Who runs this endpoint's consumer among the instances sharing a config. */
  readonly lease: Lease;
  /** The consumer's ack_wait; held events are kept alive with progress acks at a third of it. */
  readonly ackWaitMs?: number;
  /** How often a paused endpoint looks whether it was resumed. */
  readonly resumePollMs?: number;
}

/** An event received and not yet acknowledged. */
interface Held {
  msg: JsMsg;
  readonly seq: number;
  readonly id: string;
  readonly body: string;
  readonly resource: string;
  readonly type: string;
  readonly key: unknown;
  /** Commit time (ms), for the age of the oldest undelivered event. */
  readonly timeMs: number;
  /** Why the event cannot be sent (unreadable): it goes straight to the dead-letter subject. */
  readonly poison?: string;
}

/** Stream sequences finished lately: a redelivery of one (a lost ack) is acked, not sent again. */
class RecentSet {
  readonly #set = new Set<number>();
  constructor(private readonly max: number) {}
  add(n: number): void {
    this.#set.add(n);
    if (this.#set.size > this.max) this.#set.delete(this.#set.values().next().value!);
  }
  has(n: number): boolean {
    return this.#set.has(n);
  }
}

export function webhookConsumerName(webhook: string): string {
  return `sluice_webhook_${webhook}`;
}

export class WebhookEndpoint {
  readonly #held = new Map<number, Held>();
  readonly #done = new RecentSet(65_536);
  readonly #sender: WebhookSender;
  readonly #predicates = new Map<string, RowPredicate>();
  readonly #types: ReadonlySet<ResourceEventType>;
  readonly #ackWaitMs: number;
  readonly #maxPending: number;
  #scheduler: KeyedScheduler<number> | null = null;
  #paused = false;
  /** Ends the current holding (the lease was lost); set while this instance holds the lease. */
  #lost: (err: Error) => void = () => {};

  constructor(private readonly deps: EndpointDeps) {
    const { cfg } = deps;
    this.#sender = new WebhookSender(cfg, { log: deps.deliveryLog });
    this.#types = new Set(cfg.types);
    this.#ackWaitMs = deps.ackWaitMs ?? 30_000;
    this.#maxPending = cfg.maxPending ?? cfg.concurrency * 64;
    if (cfg.filter !== undefined) {
      const filters = parseFilterQuery(cfg.filter);
      for (const [name, m] of deps.resources)
        this.#predicates.set(
          name,
          compileRowPredicate(filters, (f) => m.field(f)),
        );
    }
  }

  get name(): string {
    return this.deps.cfg.name;
  }

  /**
   * Runs until `signal` aborts: waits for the endpoint's lease, runs the consumer while holding it,
   * and waits again when it is lost. Failures of NATS or the consumer are retried, never thrown.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { log, cfg, lease } = this.deps;
    const unwatch = watchEndpoint({
      name: cfg.name,
      inFlightKeys: () => this.#scheduler?.activeKeys ?? 0,
      oldestUndeliveredSeconds: () => this.#oldestAgeSeconds(),
      paused: () => this.#paused,
    });
    try {
      while (!signal.aborted) {
        const held = new AbortController();
        const stopHeld = () => held.abort();
        signal.addEventListener('abort', stopHeld, { once: true });
        const lost: { err: Error | null } = { err: null };
        this.#lost = (err) => {
          lost.err ??= err;
          held.abort();
        };
        try {
          if (!(await lease.acquire(signal, log, (err) => this.#lost(err)))) break;
          log.info({ webhook: cfg.name, owner: lease.owner }, 'took the webhook lease');
          await this.#runHeld(held.signal);
        } finally {
          signal.removeEventListener('abort', stopHeld);
          held.abort();
          this.#lost = () => {};
        }
        if (signal.aborted) break;
        log.warn(
          { webhook: cfg.name, err: errorMessage(lost.err ?? 'stopped without a reason') },
          'no longer the holder of this webhook endpoint; waiting for its lease again',
        );
        await lease.drop(); // only deletes a lease this instance still holds
      }
    } finally {
      unwatch();
      await this.#sender.close();
      await lease.drop();
    }
  }

  /** Runs the consumer while this instance holds the lease; returns once `held` aborts. */
  async #runHeld(held: AbortSignal): Promise<void> {
    const { log, kv, cfg } = this.deps;
    let taken = true;
    while (!held.aborted) {
      try {
        const state = await loadWebhookState(kv, cfg.name);
        if (state.paused && state.paused.url === cfg.url) {
          this.#paused = true;
          log.warn(
            { webhook: cfg.name, since: state.paused.at },
            'webhook paused (410 Gone); `sluice webhook resume` resumes it',
          );
          await this.#waitResumed(held);
          continue;
        }
        if (state.paused) {
          log.info({ webhook: cfg.name }, 'webhook URL changed since it was paused: resuming');
          await saveWebhookState(kv, cfg.name, { ...state, paused: null });
        }
        this.#paused = false;
        await this.#prepareConsumer(state, taken);
        taken = false;
        log.info({ webhook: cfg.name, endpoint: this.#sender.origin }, 'webhook delivering');
        await this.#consume(held);
      } catch (err) {
        if (held.aborted) break;
        if (err instanceof LeaseLostError) {
          this.#lost(err);
          break;
        }
        log.warn(
          { webhook: cfg.name, err: describeNatsError(err) },
          'webhook consumer failed; starting again',
        );
        await sleep(1000, held);
      }
    }
  }

  /**
   * Before each attempt: true while the lease is this instance's by its own clock (renewed by
   * compare-and-set when about to expire; no I/O otherwise). A lost lease ends the holding.
   */
  readonly #mayAttempt = async (): Promise<boolean> => {
    try {
      await this.deps.lease.assertHeld();
      return true;
    } catch (err) {
      this.#lost(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  };

  async #waitResumed(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.deps.resumePollMs ?? 1000, signal);
      const state = await loadWebhookState(this.deps.kv, this.name).catch(() => null);
      if (state && !state.paused) return;
    }
  }

  /**
   * Creates the consumer, or recreates it from its ack floor when the last run left events
   * unacknowledged: the server would redeliver those only after ack_wait, behind newer events
   * of the same key. Everything above the floor is sent again (at-least-once; receivers dedup on
   * webhook-id). The restart point is saved first, so a crash between delete and add loses nothing.
   * Just after taking the lease (`taken`) it is always recreated: a previous holder that froze
   * rather than died may still have pull requests open on it, which would take events out of order.
   */
  async #prepareConsumer(state: WebhookState, taken: boolean): Promise<void> {
    const { jsm, stream, prefix, cfg, resources } = this.deps;
    const durable = webhookConsumerName(cfg.name);
    const only = resources.size === 1 ? [...resources.keys()][0] : undefined;
    const filter = resourceWildcard(prefix, only);
    const settings = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filter,
      max_ack_pending: this.#maxPending,
      ack_wait: this.#ackWaitMs * NANOS,
      max_deliver: -1,
    };
    const info = await jsm.consumers.info(stream, durable).catch((err: unknown) => {
      if (isConsumerNotFound(err)) return null;
      throw err;
    });
    let from = state.resumeFrom;
    if (info) {
      const same =
        info.config.filter_subject === filter &&
        info.config.max_ack_pending === settings.max_ack_pending &&
        info.config.ack_wait === settings.ack_wait;
      if (same && info.num_ack_pending === 0 && !taken) return;
      // Deleting the consumer stops whoever consumes it: only the confirmed holder may.
      if (!(await this.deps.lease.confirmHeld()))
        throw new Error('cannot confirm the webhook lease now; not restarting the consumer');
      from = info.ack_floor.stream_seq + 1;
      await saveWebhookState(this.deps.kv, cfg.name, { ...state, resumeFrom: from });
      await jsm.consumers.delete(stream, durable);
      this.deps.log.info(
        { webhook: cfg.name, from, unacknowledged: info.num_ack_pending },
        'webhook consumer restarted from its ack floor',
      );
    }
    await jsm.consumers.add(stream, {
      ...settings,
      ...(from !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }
        : { deliver_policy: cfg.from === 'new' ? DeliverPolicy.New : DeliverPolicy.All }),
    });
  }

  async #consume(signal: AbortSignal): Promise<void> {
    const { js, stream, cfg, log } = this.deps;
    const run = new AbortController();
    const stopRun = () => run.abort();
    signal.addEventListener('abort', stopRun, { once: true });
    const result: { gone: Held | null } = { gone: null };
    const scheduler = new KeyedScheduler<number>(
      cfg.concurrency,
      async (_key, seq) => {
        const h = this.#held.get(seq);
        if (!h || run.signal.aborted) return;
        const outcome = await this.#deliver(h, run.signal);
        if (outcome?.kind === 'gone' && !result.gone) {
          result.gone = h;
          run.abort();
        }
      },
      (err) => {
        log.error(
          { webhook: cfg.name, err: describeNatsError(err) },
          'webhook delivery failed; starting again',
        );
        run.abort();
      },
    );
    this.#scheduler = scheduler;
    const consumer = await js.consumers.get(stream, webhookConsumerName(cfg.name));
    const messages = await consumer.consume({ max_messages: Math.min(this.#maxPending, 1024) });
    run.signal.addEventListener('abort', () => void messages.close().catch(() => {}), { once: true });
    // Held events wait behind their key for as long as retries take: progress acks keep the server
    // from redelivering them meanwhile.
    const keepAlive = setInterval(
      () => {
        for (const h of this.#held.values()) h.msg.working();
      },
      Math.max(50, Math.floor(this.#ackWaitMs / 3)),
    );
    try {
      for await (const m of messages) {
        if (run.signal.aborted) break;
        this.#accept(m, scheduler);
      }
    } finally {
      clearInterval(keepAlive);
      run.abort();
      await scheduler.stop();
      this.#scheduler = null;
      // Whatever is still held was not acknowledged: the next consume starts from the ack floor.
      this.#held.clear();
      signal.removeEventListener('abort', stopRun);
    }
    const g = result.gone;
    if (g) {
      const paused = {
        at: new Date().toISOString(),
        reason: `410 Gone from ${this.#sender.origin}`,
        url: cfg.url,
        eventId: g.id,
      };
      await saveWebhookState(this.deps.kv, cfg.name, {
        ...(await loadWebhookState(this.deps.kv, cfg.name)),
        paused,
      });
      this.#paused = true;
      log.warn(
        { webhook: cfg.name, endpoint: this.#sender.origin, eventId: g.id },
        'webhook answered 410 Gone: paused (resume with `sluice webhook resume` or a new url)',
      );
    }
  }

  /** Takes one message from the consumer: skips (acks) what this endpoint does not send, holds the rest. */
  #accept(m: JsMsg, scheduler: KeyedScheduler<number>): void {
    const seq = m.seq;
    const held = this.#held.get(seq);
    if (held) {
      // Redelivered while we hold it (a progress ack came late): keep one copy, the newest handle.
      held.msg = m;
      return;
    }
    if (this.#done.has(seq)) {
      m.ack();
      return;
    }
    const where = parseResourceSubject(this.deps.prefix, m.subject);
    if (!where || !this.deps.resources.has(where.resource) || !this.#types.has(where.type)) {
      m.ack();
      return;
    }
    const body = m.string();
    const keyHeader = m.headers?.get('Sluice-Key') || 'null';
    let key: unknown = null;
    let poison: string | undefined;
    let id = m.headers?.get('Nats-Msg-Id') || `seq-${seq}`;
    let timeMs = Date.now();
    try {
      key = JSON.parse(keyHeader);
      const event = resourceEventSchema.parse(JSON.parse(body));
      id = event.id;
      timeMs = Date.parse(event.time) || timeMs;
      const predicate = this.#predicates.get(where.resource);
      const row = event.data.after ?? event.data.before;
      if (predicate && row && !predicate(row)) {
        m.ack();
        return;
      }
    } catch (err) {
      poison = `unreadable resource event: ${(err as Error).message.slice(0, 300)}`;
    }
    this.#held.set(seq, {
      msg: m,
      seq,
      id,
      body,
      resource: where.resource,
      type: where.type,
      key,
      timeMs,
      poison,
    });
    scheduler.push(`${where.resource}\u0000${keyHeader}`, seq);
  }

  async #deliver(h: Held, signal: AbortSignal): Promise<SendOutcome | null> {
    if (h.poison) {
      if (!(await this.#mayAttempt())) return null;
      await this.#deadLetter(
        h,
        { attempts: 0, firstAttemptAt: null, lastStatus: null, lastError: h.poison, bodyExcerpt: null },
        signal,
      );
      return null;
    }
    const outcome = await this.#sender.send(h, signal, this.#mayAttempt);
    switch (outcome.kind) {
      case 'delivered':
        this.#finish(h);
        break;
      case 'expired':
        await this.#deadLetter(
          h,
          {
            attempts: outcome.attempts,
            firstAttemptAt: outcome.firstAttemptAt.toISOString(),
            lastStatus: outcome.last.status,
            lastError: outcome.last.error,
            bodyExcerpt: outcome.last.excerpt,
          },
          signal,
        );
        break;
      case 'gone':
      case 'aborted':
        break;
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
    return outcome;
  }

  /** Publishes the dead letter (retrying until NATS takes it), then acknowledges the event. */
  async #deadLetter(
    h: Held,
    last: {
      attempts: number;
      firstAttemptAt: string | null;
      lastStatus: number | null;
      lastError: string | null;
      bodyExcerpt: string | null;
    },
    signal: AbortSignal,
  ): Promise<void> {
    const { js, prefix, cfg, log } = this.deps;
    const letter = {
      webhook: cfg.name,
      eventId: h.id,
      resource: h.resource,
      type: h.type,
      key: h.key,
      body: h.body,
      streamSeq: h.seq,
      deadLetteredAt: new Date().toISOString(),
      ...last,
    };
    while (!signal.aborted) {
      try {
        await publishDeadLetter(js, prefix, letter);
        webhookMetrics.failures.inc({ webhook: cfg.name });
        log.warn(
          {
            webhook: cfg.name,
            eventId: h.id,
            attempts: last.attempts,
            lastStatus: last.lastStatus,
            lastError: last.lastError,
          },
          'webhook event dead-lettered',
        );
        this.#finish(h);
        return;
      } catch (err) {
        log.warn(
          { webhook: cfg.name, err: describeNatsError(err) },
          'cannot publish a dead letter yet; retrying',
        );
        await sleep(1000, signal);
      }
    }
  }

  #finish(h: Held): void {
    h.msg.ack();
    this.#held.delete(h.seq);
    this.#done.add(h.seq);
  }

  #oldestAgeSeconds(): number {
    let oldest = Infinity;
    for (const h of this.#held.values()) if (h.timeMs < oldest) oldest = h.timeMs;
    return oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  }
}

// Starts every configured webhook endpoint on one NATS connection (`sluice run`).
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../../config/schema.js';
import { webhookResources } from '../../config/webhooks.js';
import { ResourceMapping } from '../../core/mapping.js';
import type { Logger } from '../../core/source-adapter.js';
import { describeNatsError } from '../../nats/jetstream-errors.js';
import { SourceLease } from '../../nats/lease.js';
import { deliveryLogWriter, ensureDeliveryLog } from './delivery-log.js';
import { WebhookEndpoint, type EndpointDeps } from './webhook-endpoint.js';

export interface WebhookRuntime {
  readonly endpoints: readonly WebhookEndpoint[];
  /** Settles when every endpoint has stopped. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface WebhookRuntimeOptions {
  readonly ackWaitMs?: EndpointDeps['ackWaitMs'];
  readonly resumePollMs?: EndpointDeps['resumePollMs'];
}

export async function startWebhooks(
  nc: NatsConnection,
  jsm: JetStreamManager,
  kv: KV,
  cfg: Pick<SluiceConfig, 'nats' | 'api' | 'webhooks' | 'deliveryLog'>,
  log: Logger,
  opts: WebhookRuntimeOptions = {},
): Promise<WebhookRuntime> {
  const controller = new AbortController();
  if (cfg.webhooks.length > 0) await ensureDeliveryLog(jsm, cfg);
  const js = jetstream(nc);
  let logFailures = 0;
  const deliveryLog = deliveryLogWriter(js, cfg.nats.subjectPrefix, (err) => {
    // One warning per hundred failures: a NATS outage must not flood the log.
    if (logFailures++ % 100 === 0)
      log.warn({ err: describeNatsError(err) }, 'cannot write the webhook delivery log');
  });
  const mappings = new Map<string, ResourceMapping>();
  const mapping = (name: string) => {
    let m = mappings.get(name);
    if (!m) mappings.set(name, (m = new ResourceMapping(name, cfg.api!.resources[name]!)));
    return m;
  };
  const endpoints = cfg.webhooks.map(
    (w) =>
      new WebhookEndpoint({
        js,
        jsm,
        kv,
        stream: cfg.nats.stream,
        prefix: cfg.nats.subjectPrefix,
        cfg: w,
        resources: new Map(webhookResources(w, cfg.api).map((r) => [r, mapping(r)])),
        deliveryLog,
        log,
        lease: new SourceLease(kv, w.name, cfg.nats.leaseTtl, 'webhook-lease'),
        ...opts,
      }),
  );
  const done = Promise.all(endpoints.map((e) => e.run(controller.signal))).then(() => {});
  return {
    endpoints,
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

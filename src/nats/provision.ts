// Creates the stream and the KV bucket when missing, with settings from the config.
import { jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../config/schema.js';
import type { Logger } from '../core/source-adapter.js';
import pRetry from 'p-retry';
import { describeNatsError, isStreamNotFound, isTransientJetStreamError } from './jetstream-errors.js';

const NANOS = 1_000_000;

export function streamSettings(cfg: NatsConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: cfg.stream,
    subjects: [`${cfg.subjectPrefix}.>`],
    storage: cfg.streamConfig.storage === 'memory' ? 'memory' : 'file',
    num_replicas: cfg.streamConfig.replicas,
    max_bytes: cfg.streamConfig.maxBytes,
    max_age: cfg.streamConfig.maxAge * NANOS,
    duplicate_window: cfg.streamConfig.duplicateWindow * NANOS,
    // When the stream is full, refuse new events (we wait and retry) rather than drop old ones silently.
    discard: 'new',
  };
}

export async function ensureStream(jsm: JetStreamManager, cfg: NatsConfig, log?: Logger): Promise<void> {
  const wanted = streamSettings(cfg);
  try {
    const info = await jsm.streams.info(cfg.stream);
    const subjects = info.config.subjects ?? [];
    if (!subjects.includes(`${cfg.subjectPrefix}.>`)) {
      await jsm.streams.update(cfg.stream, {
        ...info.config,
        subjects: [...subjects, `${cfg.subjectPrefix}.>`],
      });
      log?.info({ stream: cfg.stream }, 'added the subject prefix to the existing stream');
    }
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(wanted);
    log?.info({ stream: cfg.stream }, 'created the stream');
  }
}

export async function ensureKv(nc: NatsConnection, cfg: NatsConfig): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(cfg.kvBucket, {
    history: 1,
    storage: cfg.streamConfig.storage === 'memory' ? 'memory' : 'file',
    replicas: cfg.streamConfig.replicas,
  });
}

/**
 * The stream and the bucket, ready. A cluster that is still forming (no meta leader yet), a node
 * restarting or a leader election answers late or not at all: those are waited out, with backoff,
 * for up to `provisionTimeoutMs`; anything else (a bad setting, no JetStream at all) fails at once.
 */
export async function provision(
  nc: NatsConnection,
  cfg: NatsConfig,
  log?: Logger,
  provisionTimeoutMs = 120_000,
): Promise<{ jsm: JetStreamManager; kv: KV }> {
  const started = Date.now();
  return pRetry(
    async () => {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, cfg, log);
      const kv = await ensureKv(nc, cfg);
      return { jsm, kv };
    },
    {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 250,
      maxTimeout: 5000,
      randomize: true,
      shouldRetry: ({ error }) =>
        isTransientJetStreamError(error) && Date.now() - started < provisionTimeoutMs,
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (isTransientJetStreamError(error))
          log?.warn(
            { attempt: attemptNumber, reason: describeNatsError(error) },
            'JetStream not ready for the stream and the bucket yet; retrying',
          );
      },
    },
  );
}

// The bodies of a source's dead letters: an event too large for max_payload cannot ride in its
// dead letter either, so it is kept in a JetStream object store (chunked, so any size fits) under
// its Nats-Msg-Id, and `sluice dlq replay <source>` publishes it from there once it can be.
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

/** Where a dead letter's body is kept. */
export interface DeadLetterBody {
  readonly bucket: string;
  readonly name: string;
}

/** The object store bucket of a stream's dead-letter bodies: `<stream>_dlq`. */
export function deadLetterBucket(stream: string): string {
  return `${stream}_dlq`;
}

export class DeadLetterBodies {
  #store: Promise<ObjectStore> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    readonly bucket: string,
    private readonly opts: { readonly replicas: number; readonly storage: 'file' | 'memory' },
  ) {}

  /** Creates the bucket on first use (dead letters are rare; most deployments never need it). */
  #open(): Promise<ObjectStore> {
    this.#store ??= new Objm(this.nc)
      .create(this.bucket, {
        storage: this.opts.storage,
        replicas: this.opts.replicas,
        description: 'Sluice: bodies of source dead letters (sluice dlq replay)',
      })
      .catch((err: unknown) => {
        this.#store = null;
        throw err;
      });
    return this.#store;
  }

  /** Stores `body` under `msgId` (a repeat after a crash overwrites it with the same bytes). */
  async keep(msgId: string, body: string): Promise<DeadLetterBody> {
    const os = await this.#open();
    await os.putBlob({ name: msgId }, new TextEncoder().encode(body));
    return { bucket: this.bucket, name: msgId };
  }

  /** The body kept under `name`, or null when it is gone. */
  async read(name: string): Promise<string | null> {
    const os = await this.#open();
    const data = await os.getBlob(name);
    return data ? new TextDecoder().decode(data) : null;
  }

  async drop(name: string): Promise<void> {
    const os = await this.#open();
    await os.delete(name).catch(() => {});
  }
}

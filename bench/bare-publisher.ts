// The transport ceiling for a CDC backlog: the events Sluice stored, read back and pre-encoded as
// HPUB frames (same payloads, same headers with a fresh Nats-Msg-Id each), then published into the
// same stream by a bare pipelined publisher with the same window. No decoding, no encoding, no
// PubAck parsing: the fastest any publisher can go through this nats-server on this machine.
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { hpubFrame, protocolOf, sendFrame } from '../src/nats/publisher-wire.js';

interface Prepared {
  readonly frames: Uint8Array[];
  readonly inbox: string;
}

/** Reads every event stored under `subject` and builds the frames that publish them again under `to`. */
async function prepare(nc: NatsConnection, stream: string, subject: string, from: string, to: string) {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const inbox = createInbox();
  const frames: Uint8Array[] = [];
  const messages = await consumer.consume({ max_messages: 4096 });
  for await (const m of messages) {
    const h = m.headers;
    const key = h?.get('Sluice-Key') ?? '';
    const headers = `Sluice-Key: ${key}\r\nContent-Type: ${h?.get('Content-Type') ?? 'application/json'}\r\n`;
    const req = {
      subject: to + m.subject.slice(from.length),
      payload: m.data,
      msgId: `bare:${h?.get('Nats-Msg-Id') ?? frames.length}`,
      headers,
    };
    frames.push(hpubFrame(req, `${inbox}.${frames.length + 1}`));
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return { frames, inbox } satisfies Prepared;
}

export interface BareRun {
  readonly rows: number;
  readonly seconds: number;
  /** CPU time (user + system) this process used while publishing. */
  readonly cpuSeconds: number;
}

/**
 * Publishes the events of `<prefix>.<source>.>` again as `<prefix>.<source>_bare.>` with `window`
 * publishes in flight, each ack freeing one slot. Timed from the first write to the last ack.
 */
export async function barePublish(
  url: string,
  stream: string,
  prefix: string,
  source: string,
  window: number,
): Promise<BareRun> {
  const nc = await connect({ servers: url });
  try {
    const from = `${prefix}.${source}.`;
    const { frames, inbox } = await prepare(nc, stream, `${from}>`, from, `${prefix}.${source}_bare.`);
    const proto = protocolOf(nc);
    if (!proto) throw new Error('nats.js internals changed: no protocol handler to write frames to');
    const n = frames.length;
    let next = 0;
    let acked = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    nc.subscribe(`${inbox}.*`, {
      callback: () => {
        acked++;
        if (next < n) sendFrame(nc, proto, frames[next++]!);
        if (acked === n) done();
      },
    });
    await nc.flush();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while (next < Math.min(window, n)) sendFrame(nc, proto, frames[next++]!);
    if (n > 0) await finished;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { rows: n, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await nc.close();
  }
}

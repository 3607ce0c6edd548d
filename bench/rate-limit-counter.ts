// The cost of a shared rate-limit counter (api.limitStore.kind nats) against the in-memory one:
// CPU of this process per counted request (nats-server's own CPU not included), 1 and 32 in
// flight. Run: npx tsx bench/rate-limit-counter.ts
import { connect } from '@nats-io/transport-node';
import { MemoryRateLimitCounter, RateLimiter } from '../src/http/rate-limit.js';
import { KvRateLimitCounter } from '../src/nats/kv-rate-counter.js';
import { TestNatsServer } from '../test/support/nats-server.js';

const N = 5000;
const HOUR = 3_600_000;

async function run(name: string, limiter: RateLimiter, concurrency: number): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < N) await limiter.take(`caller${next % 10}`);
    }),
  );
  const cpu = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  console.log(
    `${name} in flight ${concurrency}: ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU/request, ${((wall / N) * 1000).toFixed(0)} µs wall/request`,
  );
}

const nats = await TestNatsServer.start();
const nc = await connect({ servers: nats.url });
try {
  for (const c of [1, 32]) {
    await run(
      'memory ',
      new RateLimiter({ limit: 1e9, windowMs: HOUR, counter: new MemoryRateLimitCounter() }),
      c,
    );
    const counter = await KvRateLimitCounter.open(nc, `bench_limits_${c}`, HOUR);
    await run('nats kv', new RateLimiter({ limit: 1e9, windowMs: HOUR, counter }), c);
  }
} finally {
  await nc.close();
  await nats.stop();
}

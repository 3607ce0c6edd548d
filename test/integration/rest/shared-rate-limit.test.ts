// Shared rate limits (issue 15, item 7): two `sluice serve` processes on one config with
// `api.limitStore.kind: nats` count in one NATS KV bucket, so a burst spread over both admits
// exactly `limit` requests in the window, and every other one gets 429 with Retry-After.
// The same burst against two processes counting in memory admits the limit twice (the control).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { openDatabase } from '../../../src/sql/database.js';
import { createLegacySchema } from '../../fixtures/rest/legacy-db.js';
import { ROOT } from '../../support/cli.js';
import { TestNatsServer } from '../../support/nats-server.js';

const LIMIT = 37;
const BURST = 120;

const fixture = parse(readFileSync(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8')) as {
  api: { resources: Record<string, Record<string, unknown>> } & Record<string, unknown>;
};

interface Served {
  url: string;
  proc: ChildProcess;
}

/** Starts `sluice serve -c file` and resolves with the URL it prints. */
function serve(file: string): Promise<Served> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', '-c', file], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`sluice serve did not start: ${err}`));
    }, 60_000);
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /REST API on (http:\/\/[^\s/]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1]!, proc });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`sluice serve exited with ${code}: ${err}`));
    });
  });
}

async function stop(s: Served | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
}

describe('shared rate limits across REST processes (real NATS)', () => {
  let dir: string;
  let nats: TestNatsServer;
  let dbUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-limits-'));
    nats = await TestNatsServer.start();
    dbUrl = `sqlite:${join(dir, 'legacy.db')}`;
    const db = await openDatabase(dbUrl);
    try {
      await createLegacySchema(db.knex, 'sqlite');
    } finally {
      await db.close();
    }
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, kind: 'nats' | 'memory'): Promise<string> {
    const api = structuredClone(fixture.api);
    Object.assign(api, {
      database: dbUrl,
      listen: '127.0.0.1:0',
      // An hour: the burst lies inside one window unless it straddles the hour (then it is retried).
      rateLimit: { limit: LIMIT, window: '1h' },
      limitStore: { kind, bucket: `limits_${name}` },
    });
    for (const r of Object.values(api.resources)) r.access = { anonymous: ['read'] };
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, stringify({ nats: { servers: nats.url }, api }));
    return file;
  }

  /** BURST requests alternating between the two processes, 16 at a time; the statuses by process. */
  async function burst(a: Served, b: Served): Promise<{ ok: number[]; limited: number; retryAfter: boolean }> {
    const ok = [0, 0];
    let limited = 0;
    let retryAfter = true;
    let next = 0;
    const worker = async () => {
      while (next < BURST) {
        const i = next++;
        const res = await fetch(`${[a, b][i % 2]!.url}/api/customers?limit=1`);
        await res.arrayBuffer();
        if (res.status === 200) ok[i % 2]!++;
        else {
          expect(res.status).toBe(429);
          limited++;
          retryAfter &&= Number(res.headers.get('retry-after')) > 0;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return { ok, limited, retryAfter };
  }

  /** Runs the burst inside one hour window (once more if the first straddled an hour). */
  async function burstInOneWindow(kind: 'nats' | 'memory') {
    for (let round = 0; ; round++) {
      const hour = () => Math.floor(Date.now() / 3_600_000);
      const a = await serve(await configFile(`${kind}${round}a`, kind));
      let b: Served | undefined;
      try {
        // Same bucket for both processes (the file name differs, the bucket is per round).
        b = await serve(await configFile(`${kind}${round}a`, kind));
        const h = hour();
        const r = await burst(a, b);
        if (hour() === h || round > 0) return r;
      } finally {
        await stop(a);
        await stop(b);
      }
    }
  }

  it('two processes with limitStore nats admit exactly the limit together', async () => {
    const r = await burstInOneWindow('nats');
    expect(r.ok[0]! + r.ok[1]!).toBe(LIMIT);
    // Both processes admitted some: the limit is shared, not enforced by one of them alone.
    expect(r.ok[0]).toBeGreaterThan(0);
    expect(r.ok[1]).toBeGreaterThan(0);
    expect(r.limited).toBe(BURST - LIMIT);
    expect(r.retryAfter).toBe(true);
  }, 180_000);

  it('control: two processes counting in memory admit the limit each', async () => {
    const r = await burstInOneWindow('memory');
    expect(r.ok).toEqual([LIMIT, LIMIT]);
  }, 180_000);
});

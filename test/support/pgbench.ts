// pgbench from the system's PostgreSQL packages: a standard workload nobody on this project wrote.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export function pgbenchPath(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base))
    for (const v of readdirSync(base).sort().reverse())
      if (existsSync(`${base}/${v}/bin/pgbench`)) return `${base}/${v}/bin/pgbench`;
  return spawnSync('which', ['pgbench']).status === 0 ? 'pgbench' : null;
}

function connArgs(url: string): string[] {
  const u = new URL(url);
  return [
    '-h',
    u.hostname,
    '-p',
    u.port,
    '-U',
    decodeURIComponent(u.username),
    u.pathname.slice(1) || 'postgres',
  ];
}

function env(url: string): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: decodeURIComponent(new URL(url).password) };
}

export function pgbenchInit(url: string, scale = 1): void {
  const bin = pgbenchPath();
  if (!bin) throw new Error('pgbench not found: apt-get install postgresql-15 (or postgresql-client)');
  const r = spawnSync(bin, ['-i', '-q', '-s', String(scale), ...connArgs(url)], {
    env: env(url),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`pgbench -i failed: ${r.stderr}`);
}

/** Runs the TPC-B-like script; resolves with pgbench's output when it ends. */
export function pgbenchRun(url: string, args: string[]): { proc: ChildProcess; done: Promise<string> } {
  const bin = pgbenchPath();
  if (!bin) throw new Error('pgbench not found');
  const proc = spawn(bin, ['-n', ...args, ...connArgs(url)], { env: env(url) });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}: ${out}`)),
    );
  });
  return { proc, done };
}

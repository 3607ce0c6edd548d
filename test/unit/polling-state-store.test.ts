// The diff state file (adapters/polling/polling-state-store.ts): what a restart from a committed
// offset puts in doubt, what pruning keeps, run numbers, and a state file of the previous layout.
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { StateStore } from '../../adapters/polling/polling-state-store.js';

const file = async () => join(await mkdtemp(join(tmpdir(), 'sluice-state-')), 'src.sqlite');

describe('polling diff state store', () => {
  test('a restart puts in doubt exactly the rows whose event came after the committed chunk', async () => {
    const s = await StateStore.open(await file());
    // Pass 1: chunk 1 hands on a (event), sees b unchanged; chunk 2 hands on c; chunk 3 reports d deleted.
    s.writeChunk('t', 1, 1, [
      { key: 'a', hash: 'a1', emitted: 'u t:d1:x' },
      { key: 'b', hash: 'b0' },
      { key: 'e', hash: null, emitted: 'd t:d1:w' },
    ]);
    s.writeChunk('t', 1, 2, [{ key: 'c', hash: 'c1', emitted: 'c t:d1:y' }]);
    s.writeChunk('t', 1, 3, [{ key: 'd', hash: null, emitted: 'd t:d1:z' }]);
    s.restore('t', 1, 1);
    expect(s.get('t', 'a')).toMatchObject({ hash: 'a1', doubt: false, pass: 1 });
    expect(s.get('t', 'b')).toMatchObject({ hash: 'b0', doubt: false });
    expect(s.get('t', 'c')).toMatchObject({ hash: 'c1', doubt: true, emitted: 'c t:d1:y', pass: 1 });
    expect(s.get('t', 'd')).toMatchObject({ hash: null, doubt: true, emitted: 'd t:d1:z' });
    // A committed delete is pruned; one in doubt is kept and offered again as unseen in the next pass.
    s.prune('t', 5);
    expect(s.get('t', 'e')).toBeNull();
    expect(s.unseen('t', 2, null, 10).map((u) => u.key)).toEqual(['a', 'b', 'c', 'd']);
    // Reading it again settles the doubt.
    s.writeChunk('t', 2, 1, [{ key: 'c', hash: 'c2', emitted: 'u t:d2r1:q' }]);
    expect(s.get('t', 'c')).toMatchObject({ hash: 'c2', doubt: false, emitted: 'u t:d2r1:q' });
    s.close();
  });

  test('run numbers grow across reopenings of the file', async () => {
    const f = await file();
    let s = await StateStore.open(f);
    expect([s.nextRun(), s.nextRun()]).toEqual([1, 2]);
    s.close();
    s = await StateStore.open(f);
    expect(s.nextRun()).toBe(3);
    s.close();
  });

  test('a state file of the previous layout (prev_hash, prev_pass) opens and keeps its hashes', async () => {
    const f = await file();
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => {
      exec(sql: string): unknown;
      close(): void;
    };
    const old = new Database(f);
    old.exec(`CREATE TABLE rows (
      tbl TEXT NOT NULL, key TEXT NOT NULL, hash TEXT, pass INTEGER NOT NULL, chunk INTEGER NOT NULL,
      prev_hash TEXT, prev_pass INTEGER, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
      INSERT INTO rows VALUES ('t', 'a', 'h', 3, 2, NULL, NULL);`);
    old.close();
    const s = await StateStore.open(f);
    s.restore('t', 3, 1);
    expect(s.get('t', 'a')).toMatchObject({ hash: 'h', doubt: false, emitted: null });
    s.writeChunk('t', 4, 1, [{ key: 'a', hash: 'h2', emitted: 'u t:d4:x' }]);
    expect(s.get('t', 'a')).toMatchObject({ hash: 'h2', pass: 4 });
    s.close();
  });
});

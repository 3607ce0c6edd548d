import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restSuite } from './rest-suite.js';

restSuite('SQLite', {
  flavor: 'sqlite',
  async start() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-rest-sqlite-'));
    return { url: `sqlite:${join(dir, 'legacy.db')}`, stop: () => rm(dir, { recursive: true, force: true }) };
  },
});

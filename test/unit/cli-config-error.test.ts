// `sluice validate` on a config with a YAML syntax error, in process: exit code 2, one error with
// its line, column, the offending line and the hint, and no stack trace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

afterEach(() => {
  vi.restoreAllMocks();
});

test('a YAML syntax error exits 2 with one error, its position and the ${VAR} hint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  try {
    const file = join(dir, 'sluice.yaml');
    await writeFile(
      file,
      'nats: { servers: ${NATS_URL} }\nsources:\n  - name: erp\n    kind: postgres\n    url: ${ERP_URL}\n    tables: [public.t]\n',
    );
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    const code = await main(['node', 'sluice', 'validate', '-c', file]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      [
        'sluice: invalid configuration:',
        '  yaml: line 1, column 19: Unexpected flow-map-start at node end',
        '    nats: { servers: ${NATS_URL} }',
        `    ${' '.repeat(18)}^`,
        '  hint: line 1 has an unquoted ${NATS_URL} inside a { } flow map, which is not valid YAML: ' +
          'quote it ("${NATS_URL}") or write the map in block style',
        '',
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

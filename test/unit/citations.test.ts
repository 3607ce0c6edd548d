// Comments and docs cite what is in this repository (README, docs/, the code), never the design
// notes kept outside it: a reader of the code cannot open those.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const outside =
  /\b(DESIGN\.md|STYLE\.md|legacy-sources\.md|traps\.md|cdc-anchors\.md|rest-anchors\.md|sinks-binlog-ha\.md)\b|shared\/reference\//;

describe('citations', () => {
  test('no tracked source, test or doc file cites a file outside the repository', () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.js', '*.md', '*.yml', '*.yaml'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && f !== 'test/unit/citations.test.ts');
    const hits = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (outside.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });
});

import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

const good = `
nats:
  servers: nats://127.0.0.1:4222
sources:
  - name: erp
    kind: postgres
    url: \${ERP_URL}
    tables: [public.custmast, public.ordhdr]
`;

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfigText(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults fill every key and ${ENV} is interpolated', () => {
    const cfg = parseConfigText(good, { ERP_URL: 'postgres://u@h:5432/erp' });
    expect(cfg.nats.stream).toBe('SLUICE');
    expect(cfg.nats.subjectPrefix).toBe('sluice');
    expect(cfg.nats.streamConfig.duplicateWindow).toBe(600_000);
    const s = cfg.sources[0]!;
    expect(s.kind).toBe('postgres');
    expect(s.url).toBe('postgres://u@h:5432/erp');
    expect(s.snapshot).toBe('initial');
    if (s.kind === 'postgres') expect(s.heartbeatInterval).toBe(10_000);
    expect(Object.isFrozen(cfg.sources[0])).toBe(true);
  });

  test('a ${VAR:-default} falls back; a missing variable is reported by path', () => {
    expect(
      parseConfigText(good.replace('${ERP_URL}', '${ERP_URL:-postgres://x/y}'), {}).sources[0]!.url,
    ).toBe('postgres://x/y');
    expect(problems(good)).toContain('sources[0].url: environment variable ERP_URL is not set');
  });

  test('every problem is listed, each with its path', () => {
    const bad = `
nats:
  servers: 12
  streamConfig: { maxAge: forever }
sources:
  - name: erp
    kind: postgres
    url: mysql://nope
    tables: [custmast]
    slot: Bad-Slot
  - name: erp
    kind: postgres
    url: postgres://x/y
    tables: [public.a]
    snapshot: sometimes
    colour: blue
  - name: other
    kind: db2
    url: x
    tables: [a.b]
`;
    const p = problems(bad);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nats\.servers: /),
        expect.stringMatching(/^nats\.streamConfig\.maxAge: expected a duration/),
        'sources[0].url: expected a postgres:// URL',
        expect.stringMatching(/^sources\[0\]\.tables\[0\]: expected schema\.table/),
        expect.stringMatching(/^sources\[0\]\.slot: /),
        expect.stringMatching(/^sources\[1\]\.snapshot: /),
        'sources[1]: unknown key colour',
        expect.stringMatching(/^sources\[2\]\.kind: /),
      ]),
    );
    expect(p.length).toBeGreaterThanOrEqual(8);
  });

  test('duplicate source names are refused', () => {
    const dup = `${good}\n  - name: erp\n    kind: postgres\n    url: postgres://a/b\n    tables: [public.x]\n`;
    expect(problems(dup, { ERP_URL: 'postgres://a/b' })).toContain(
      'sources[1].name: duplicate source name "erp" (also sources[0])',
    );
  });

  test('source names that are reserved subject tokens are refused, by path', () => {
    const reserved = `${good}\n  - name: resources\n    kind: postgres\n    url: postgres://a/b\n    tables: [public.x]\n  - name: dlq\n    kind: postgres\n    url: postgres://a/b\n    tables: [public.x]\n`;
    const p = problems(reserved, { ERP_URL: 'postgres://a/b' });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sources\[1\]\.name: "resources" is reserved/),
        expect.stringMatching(/^sources\[2\]\.name: "dlq" is reserved/),
      ]),
    );
  });

  test('YAML syntax errors are config errors, not stack traces', () => {
    expect(problems('sources: [\n')[0]).toMatch(/^yaml: /);
  });

  const failure = (text: string): ConfigError => {
    try {
      parseConfigText(text, { NATS_URL: 'nats://127.0.0.1:4222' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  test('a YAML syntax error is ONE error with its line, column and the line with a caret', () => {
    const err = failure('nats:\n  servers: nats://x\n bad: 1\nsources: []\n');
    expect(err.issues).toEqual(['yaml: line 3, column 1: All mapping items must start at the same column']);
    expect(err.message).toBe(
      [
        'invalid configuration:',
        '  yaml: line 3, column 1: All mapping items must start at the same column',
        '     bad: 1',
        '    ^',
      ].join('\n'),
    );
    expect(err.message).not.toMatch(/hint/);
  });

  test('an unquoted ${VAR} inside a { } flow map: one error, not a cascade, and a hint to quote it', () => {
    const err = failure('nats: { servers: ${NATS_URL} }\nsources:\n  - { name: erp, kind: postgres }\n');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatch(/^yaml: line 1, column 19: /);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe('    nats: { servers: ${NATS_URL} }');
    expect(lines[3]).toBe(`    ${' '.repeat(18)}^`);
    expect(lines[4]).toBe(
      '  hint: line 1 has an unquoted ${NATS_URL} inside a { } flow map, which is not valid YAML: ' +
        'quote it ("${NATS_URL}") or write the map in block style',
    );
    // The same map with the value quoted parses, and ${NATS_URL} is interpolated.
    const cfg = parseConfigText('nats: { servers: "${NATS_URL}" }\nsources: []\n', {
      NATS_URL: 'nats://h:4222',
    });
    expect(cfg.nats.servers).toEqual(['nats://h:4222']);
  });

  test('the hint also covers a [ ] flow sequence, and not a ${VAR} that is quoted or in block style', () => {
    expect(failure('nats:\n  servers: [ ${NATS_URL} ]\n').message).toMatch(
      /hint: line 2 has an unquoted \$\{NATS_URL\} inside a \[ \] flow sequence/,
    );
    const other = failure('nats:\n  servers: ${NATS_URL}\n  x: { a: "${NATS_URL}", b: [ }\n');
    expect(other.issues).toHaveLength(1);
    expect(other.message).not.toMatch(/hint/);
  });

  test('a file cut short is reported at its end', () => {
    expect(failure('sources: [\n').message).toMatch(
      /^invalid configuration:\n {2}yaml: line 2, column 1: .*\(at the end of the file\)$/,
    );
  });
});

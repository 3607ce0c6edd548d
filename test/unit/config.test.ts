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

  test('YAML syntax errors are config errors, not stack traces', () => {
    expect(problems('sources: [\n')[0]).toMatch(/^yaml: /);
  });
});

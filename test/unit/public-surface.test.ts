// src/index.ts is the list of what an embedding program may import: every name on it exists and is
// of the kind it claims, and nothing else leaks out through it.
import { describe, expect, test } from 'vitest';
import * as sluice from '../../src/index.js';

const functions = [
  'runVerify',
  'loadConfig',
  'parseConfig',
  'parseConfigText',
  'startRuntime',
  'createSourceAdapter',
  'createApp',
  'createApiRuntime',
  'createAppFromRuntime',
  'startApi',
  'makeChange',
  'eventSubject',
  'msgId',
  'parseMsgId',
  'parseJsonOffset',
  'errorMessage',
  'isRetriable',
  'createCodec',
];
const classes = [
  'BridgeError',
  'ConfigError',
  'NatsUnavailableError',
  'OffsetConflictError',
  'OffsetLostError',
  'PreflightError',
  'PublishError',
  'SourceUnavailableError',
  'CodecError',
  'ResourceMapping',
];
const schemas = [
  'configSchema',
  'natsSchema',
  'sourceSchema',
  'apiSchema',
  'resourceSchema',
  'sinkSchema',
  'changeEventSchema',
  'opSchema',
  'transactionSchema',
  'sourceInfoSchema',
  'postgresSourceSchema',
  'mysqlSourceSchema',
  'sqlserverSourceSchema',
  'oracleSourceSchema',
  'pollingSourceSchema',
  'triggersSourceSchema',
];
const values = ['defaultCapabilities', 'codecs', 'codecNames', 'VERSION'];

describe('public surface (src/index.ts)', () => {
  test.each(functions)('%s is a function', (name) => {
    expect(typeof (sluice as Record<string, unknown>)[name]).toBe('function');
  });

  test.each(classes)('%s is an error or class with a prototype', (name) => {
    const C = (sluice as Record<string, unknown>)[name] as { prototype?: unknown };
    expect(typeof C).toBe('function');
    expect(C.prototype).toBeDefined();
  });

  test('error classes are BridgeErrors', () => {
    for (const name of classes.filter((n) => n.endsWith('Error') && n !== 'BridgeError'))
      expect(((sluice as Record<string, unknown>)[name] as { prototype: object }).prototype).toBeInstanceOf(
        sluice.BridgeError,
      );
  });

  test.each(schemas)('%s is a zod schema', (name) => {
    expect(typeof ((sluice as Record<string, unknown>)[name] as { safeParse?: unknown }).safeParse).toBe(
      'function',
    );
  });

  test('exactly the listed names are exported', () => {
    expect(Object.keys(sluice).sort()).toEqual([...functions, ...classes, ...schemas, ...values].sort());
    expect(sluice.defaultCapabilities.origins).toBe('none');
    expect(sluice.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});

test("package.json's entry points are what `npm run build` makes of src/index.ts", async () => {
  const { readFile } = await import('node:fs/promises');
  const root = new URL('../../', import.meta.url);
  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
  };
  const build = JSON.parse(await readFile(new URL('tsconfig.build.json', root), 'utf8')) as {
    compilerOptions: { declaration?: boolean };
  };
  // tsconfig.json's outDir is dist and its rootDir the repository, so src/index.ts → dist/src/index.js.
  expect(pkg.exports['.']).toEqual({ types: './dist/src/index.d.ts', default: './dist/src/index.js' });
  expect(build.compilerOptions.declaration).toBe(true);
});

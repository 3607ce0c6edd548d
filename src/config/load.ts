// load → interpolate → validate → freeze. Every problem is reported with its path.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { interpolate, type InterpolationProblem } from './env.js';
import { configSchema, type SluiceConfig } from './schema.js';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    if (i.code === 'invalid_union' && 'errors' in i && i.errors.length > 0) {
      // Report the branch that got furthest instead of "invalid input".
      const nested = i.errors.flat();
      if (nested.length > 0)
        return issueLines(nested.map((n) => ({ ...n, path: [...i.path, ...n.path] })))[0]!;
    }
    if (i.code === 'unrecognized_keys')
      return `${formatPath(i.path)}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
    return `${formatPath(i.path)}: ${i.message}`;
  });
}

/** Validates an already-parsed config object. Throws ConfigError listing every problem. */
export function parseConfig(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SluiceConfig {
  const problems: InterpolationProblem[] = [];
  const interpolated = interpolate(raw ?? {}, env, problems);
  const lines = problems.map((p) => `${formatPath(p.path)}: ${p.message}`);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) lines.push(...issueLines(result.error.issues));
  if (lines.length > 0) throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`, lines);
  return deepFreeze(result.data!);
}

export function parseConfigText(
  text: string,
  env?: Readonly<Record<string, string | undefined>>,
): SluiceConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`, lines);
  }
  return parseConfig(doc.toJS(), env);
}

export async function loadConfig(
  file: string,
  env?: Readonly<Record<string, string | undefined>>,
): Promise<SluiceConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read config file ${file}: ${code === 'ENOENT' ? 'no such file' : String(err)}`,
      [`${file}: cannot be read`],
    );
  }
  return parseConfigText(text, env);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

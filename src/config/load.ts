// load → interpolate → validate → freeze. Every problem is reported with its path.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { interpolate, type InterpolationProblem } from './env.js';
import { configSchema, type SluiceConfig } from './schema.js';
import { secrets } from './secrets.js';

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
  registerSecrets(result.data!);
  return deepFreeze(result.data!);
}

/** The config's secret values, so that no log line, status output or error message shows them. */
function registerSecrets(cfg: SluiceConfig): void {
  secrets.add(cfg.nats.pass);
  secrets.add(cfg.nats.token);
  for (const s of cfg.sources) secrets.addUrlPassword(s.url);
  for (const s of cfg.sinks) secrets.addUrlPassword(s.url);
  for (const w of cfg.webhooks) {
    secrets.add(w.secret);
    for (const v of Object.values(w.headers ?? {})) secrets.add(v);
    // An inline PEM key (e.g. from ${VAR}); a file path is not a secret, its content is never logged.
    if (w.tls?.key?.includes('-----BEGIN')) secrets.add(w.tls.key);
  }
  if (cfg.api) {
    secrets.addUrlPassword(cfg.api.database);
    for (const r of Object.values(cfg.api.resources)) secrets.addUrlPassword(r.url);
    secrets.add(cfg.api.auth.jwt?.secret);
  }
}

export function parseConfigText(
  text: string,
  env?: Readonly<Record<string, string | undefined>>,
): SluiceConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const first = doc.errors[0];
  if (first) throw yamlSyntaxError(text, first, lineCounter);
  return parseConfig(doc.toJS(), env);
}

/**
 * One syntax error, the first: the parser's later errors are mostly the same mistake seen from
 * further on. Its line and column, the offending line with a caret, and a hint for the usual
 * cause of a cascade: an unquoted `${VAR}` inside a flow collection.
 */
function yamlSyntaxError(text: string, err: YAMLError, lines: LineCounter): ConfigError {
  const { line, col } = lines.linePos(err.pos[0]);
  const issue = `yaml: line ${line}, column ${col}: ${err.message.split('\n')[0]}`;
  const source = text.split(/\r?\n/)[line - 1] ?? '';
  // Tabs stay tabs under the caret, so it lines up however the terminal expands them.
  const pad = source.slice(0, col - 1).replace(/[^\t]/g, ' ');
  const shown =
    source === '' && err.pos[0] >= text.trimEnd().length
      ? [`${issue} (at the end of the file)`]
      : [issue, `  ${source}`, `  ${pad}^`];
  const unquoted = unquotedVarInFlow(text, lines.lineStarts[line] ?? text.length);
  if (unquoted)
    shown.push(
      `hint: line ${unquoted.line} has an unquoted ${unquoted.ref} inside ${unquoted.flow === '{' ? 'a { } flow map' : 'a [ ] flow sequence'}, ` +
        `which is not valid YAML: quote it ("${unquoted.ref}") or write the ${unquoted.flow === '{' ? 'map' : 'list'} in block style`,
    );
  return new ConfigError(`invalid configuration:\n  ${shown.join('\n  ')}`, [issue]);
}

/**
 * The first `${...}` before `end` that sits unquoted inside `{ }` or `[ ]`: in flow context `{`
 * opens a nested map, so `{ servers: ${NATS_URL} }` does not parse (in block style it is fine).
 */
function unquotedVarInFlow(text: string, end: number): { line: number; ref: string; flow: '{' | '[' } | null {
  const flows: ('{' | '[')[] = [];
  let line = 1;
  for (let i = 0; i < end && i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') line++;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      // Skip the quoted scalar; '' inside single quotes and \" inside double quotes do not end it.
      for (i++; i < text.length; i++) {
        if (text[i] === '\n') line++;
        if (ch === '"' && text[i] === '\\') i++;
        else if (text[i] === ch) {
          if (ch === "'" && text[i + 1] === "'") i++;
          else break;
        }
      }
    } else if (ch === '$' && text[i + 1] === '{') {
      const close = text.indexOf('}', i);
      const ref = close < 0 ? text.slice(i, text.indexOf('\n', i) >>> 0) : text.slice(i, close + 1);
      if (flows.length > 0) return { line, ref, flow: flows[flows.length - 1]! };
      if (close > 0) i = close;
    } else if (ch === '{' || ch === '[') flows.push(ch);
    else if (ch === '}' || ch === ']') flows.pop();
  }
  return null;
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

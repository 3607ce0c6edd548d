// `${VAR}`, `${VAR:-default}` and `${file:/path}` interpolation over the parsed YAML tree, so
// problems keep their path. A value read from a file (Docker and Kubernetes secrets) and a
// variable whose name says it is a secret are registered with `secrets` so that logs, `status`,
// `validate` and error messages never show them (src/config/secrets.ts).
import { readFileSync } from 'node:fs';
import { secrets as processSecrets, type SecretRegistry } from './secrets.js';

export interface InterpolationProblem {
  path: (string | number)[];
  message: string;
}

const PATTERN = /\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;

/** Variable names whose values are treated as secrets even when they come from the environment. */
const SECRET_NAME = /PASS|SECRET|TOKEN|KEY|CRED|SEED|NKEY|PRIVATE/i;

/** A secret file's content; one trailing newline (as `echo` and most editors write) is dropped. */
function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: InterpolationProblem[],
  path: (string | number)[] = [],
  secrets: SecretRegistry = processSecrets,
): unknown {
  if (typeof value === 'string') {
    return value.replace(
      PATTERN,
      (_all, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
        if (file !== undefined) {
          try {
            const v = readSecretFile(file.trim());
            secrets.add(v);
            return v;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            problems.push({
              path,
              message: `secret file ${file.trim()} cannot be read (${code ?? 'error'})`,
            });
            return '';
          }
        }
        const v = env[name!];
        if (v !== undefined && v !== '') {
          if (SECRET_NAME.test(name!)) secrets.add(v);
          return v;
        }
        if (fallback !== undefined) return fallback;
        problems.push({ path, message: `environment variable ${name!} is not set` });
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, [...path, i], secrets));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, problems, [...path, k], secrets);
    return out;
  }
  return value;
}

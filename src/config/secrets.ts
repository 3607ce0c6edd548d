// The secret values this process knows (read from `${file:...}`, secret-named variables, URL
// passwords, NATS credentials), and `redact`, which replaces them in any text or log record.
// One registry per process on purpose: logs, CLI output and error messages are written from many
// places, and each must hide what the config loader learned.

/** Secrets shorter than this are not redacted: "1" or "no" would mangle every line. */
const MIN_LENGTH = 4;
const MASK = '[redacted]';

export class SecretRegistry {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;

  /** Remembers a secret (and, for a multi-line value such as a PEM key or .creds file, each long line). */
  add(value: string | undefined | null): void {
    if (!value) return;
    const parts = [value, ...value.split(/\r?\n/).map((l) => l.trim())];
    for (const p of parts) {
      if (p.length >= MIN_LENGTH && !/^-+(BEGIN|END)[^-]*-+$/.test(p) && !this.#values.has(p)) {
        this.#values.add(p);
        this.#pattern = null;
      }
    }
  }

  /**
   * The password of a URL (`scheme://user:password@host/db`), if any. A password that equals
   * another part of the URL (`postgres://postgres:postgres@...` in development) is not hidden:
   * masking it would mask the scheme, user and database names in every line while hiding nothing.
   */
  addUrlPassword(url: string | undefined): void {
    if (!url) return;
    const m = /^([a-z][a-z0-9+.-]*):\/\/([^:@/]*):([^@/]*)@([^/?]*)(?:\/([^?]*))?/i.exec(url);
    if (!m?.[3]) return;
    const [, scheme, user, raw, host, db] = m;
    let password = raw;
    try {
      password = decodeURIComponent(raw);
    } catch {
      // not percent-encoded: the raw form is the password
    }
    if ([scheme, user, host, db].some((part) => part === raw || part === password)) return;
    this.add(raw);
    this.add(password);
  }

  get size(): number {
    return this.#values.size;
  }

  /** `text` with every known secret replaced by `[redacted]`. */
  redact(text: string): string {
    if (this.#values.size === 0) return text;
    this.#pattern ??= new RegExp(
      [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, MASK);
  }

  /** A copy of a JSON-like value with secrets redacted in every string. */
  redactValue<T>(value: T): T {
    if (this.#values.size === 0) return value;
    return this.#walk(value, 0) as T;
  }

  #walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (depth > 8 || value === null || typeof value !== 'object') return value;
    if (value instanceof Error) return this.redact(value.stack ?? value.message);
    if (Array.isArray(value)) return value.map((v) => this.#walk(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.#walk(v, depth + 1);
    return out;
  }

  clear(): void {
    this.#values.clear();
    this.#pattern = null;
  }
}

export const secrets = new SecretRegistry();

// When two values read from two different databases are the same value: `1.50` and `1.5`, `true`
// and `1`, a timestamp written with `T` or with a space, JSON as text or parsed. Used by `sluice
// verify` once chunk hashes have narrowed a difference down to rows.

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]00(?::?00)?)?$/;

function canonicalNumber(t: string): string {
  if (!t.includes('.') || /[eE]/.test(t)) return String(Number(t));
  const s = t.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

function canonical(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date)
    return v
      .toISOString()
      .replace(/\.000Z$/, '')
      .replace(/Z$/, '');
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return canonicalNumber(String(v));
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'string') {
    if (NUMERIC.test(v)) return canonicalNumber(v);
    const ts = TIMESTAMP.exec(v);
    if (ts) return `${ts[1]}T${ts[2]!.replace(/\.?0+$/, '')}`;
    if (v.startsWith('{') || v.startsWith('[')) {
      try {
        return JSON.stringify(JSON.parse(v));
      } catch {
        return v;
      }
    }
  }
  return v;
}

/** Whether `a` and `b` are the same value as two databases may render it. */
export function sameDbValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const truth = (x: unknown) =>
      x === null || x === undefined
        ? null
        : x === true || x === 1 || x === 1n || x === '1' || x === 't' || x === 'true';
    return truth(a) === truth(b);
  }
  const ca = canonical(a);
  const cb = canonical(b);
  return ca === cb || (typeof ca === 'string' && typeof cb === 'string' && ca.trimEnd() === cb.trimEnd());
}

import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `1s`, `2m`, `1h`, `7d` (or a bare number of milliseconds) to milliseconds. */
export function parseDuration(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** A zod field for durations: accepts `1s`-style strings or milliseconds; yields milliseconds. */
export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like 500ms, 1s, 2m or 1h, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return ms;
    });

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** `512MB`, `10GB`, a number of bytes, or -1 for unlimited. */
export const byteSize = (def: string | number) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      if (typeof v === 'number' && Number.isInteger(v) && v >= -1) return v;
      const m = typeof v === 'string' ? /^\s*(\d+)\s*(b|kb|mb|gb|tb)?\s*$/i.exec(v) : null;
      if (!m) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size like 512MB or -1, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!;
    });

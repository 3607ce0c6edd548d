// Zone-less legacy datetimes ("2024-03-01 08:30:00.123456", written in some local zone) ↔ ISO UTC.
// Fractional seconds are carried as text so no stored digit is lost to a JS Date.

const localPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const isoPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock fields of the UTC instant `ms` in `timeZone`, as a UTC-based millisecond count. */
function wallClockMs(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second);
}

const quarterHour = 900_000;
const offsets = new Map<string, Map<number, number>>();

/**
 * Offset of `timeZone` from UTC at the instant `ms`, in milliseconds. Zone transitions fall on
 * quarter hours, so the offset is cached per zone and UTC quarter hour (Intl is slow per row).
 */
function offsetAt(ms: number, timeZone: string): number {
  const bucket = Math.floor(ms / quarterHour) * quarterHour;
  let zone = offsets.get(timeZone);
  if (!zone) offsets.set(timeZone, (zone = new Map()));
  let offset = zone.get(bucket);
  if (offset === undefined) {
    offset = wallClockMs(bucket, timeZone) - bucket;
    if (zone.size >= 100_000) zone.clear();
    zone.set(bucket, offset);
  }
  return offset;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function fraction(f: string | undefined): string {
  return f ? `.${f}` : '';
}

/** "2024-03-01 08:30:00.5" in Europe/Paris → "2024-03-01T07:30:00.5Z". null when the text is no datetime. */
export function localToUtcIso(local: string, timeZone: string): string | null {
  const m = localPattern.exec(local.trim());
  if (!m) return null;
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  if (Number.isNaN(wall)) return null;
  // Two passes settle the offset across DST changes; a skipped wall time resolves forward.
  let utc = wall - offsetAt(wall, timeZone);
  utc = wall - offsetAt(utc, timeZone);
  const d = new Date(utc);
  const base = d.toISOString().slice(0, 19);
  // DATETIME(6) pads with zeros: "08:00:00.000000" and "08:00:00" are the same instant, sent the short way.
  return `${base}${fraction(m[7]?.replace(/0+$/, ''))}Z`;
}

/** "2024-03-01T07:30:00.5Z" (or with an offset) → "2024-03-01 08:30:00.5" in `timeZone`. */
export function utcIsoToLocal(iso: string, timeZone: string): string {
  const m = isoPattern.exec(iso.trim());
  if (!m) throw new RangeError(`not an ISO datetime: ${iso}`);
  let utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  const zone = m[8]!.toUpperCase();
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    utc -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const w = new Date(utc + offsetAt(utc, timeZone));
  const date = `${pad(w.getUTCFullYear(), 4)}-${pad(w.getUTCMonth() + 1)}-${pad(w.getUTCDate())}`;
  return `${date} ${pad(w.getUTCHours())}:${pad(w.getUTCMinutes())}:${pad(w.getUTCSeconds())}${fraction(m[7])}`;
}

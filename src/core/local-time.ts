// Zone-less legacy datetimes ("2024-03-01 08:30:00.123456", written in some local zone) ↔ ISO UTC.
// Fractional seconds are carried as text so no stored digit is lost to a JS Date.

const localPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const isoPattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;

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

/** Date.UTC, except that years 0–99 stay years 0–99 (Date.UTC reads them as 1900–1999). */
function utcMs(y: number, month0: number, d: number, h: number, mi: number, sec: number): number {
  if (y < 0 || y > 99) return Date.UTC(y, month0, d, h, mi, sec);
  const t = new Date(Date.UTC(2000, 0, 1, h, mi, sec));
  return t.setUTCFullYear(y, month0, d);
}

/** Wall-clock fields of the UTC instant `ms` in `timeZone`, as a UTC-based millisecond count. */
function wallClockMs(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return utcMs(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

const quarterHour = 900_000;
const offsets = new Map<string, Map<number, number>>();

/**
 * Offset of `timeZone` from UTC at the instant `ms`, in milliseconds. Zone transitions fall on
 * quarter hours, so the offset is cached per zone and UTC quarter hour (Intl is slow per row).
 */
function offsetAt(ms: number, timeZone: string): number {
  // Keyed by the quarter hour's index, a small integer: cheaper map keys than millisecond counts.
  const index = Math.floor(ms / quarterHour);
  let zone = offsets.get(timeZone);
  if (!zone) offsets.set(timeZone, (zone = new Map()));
  let offset = zone.get(index);
  if (offset === undefined) {
    const bucket = index * quarterHour;
    offset = wallClockMs(bucket, timeZone) - bucket;
    if (zone.size >= 100_000) zone.clear();
    zone.set(index, offset);
  }
  return offset;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** "00" … "99": formatting by table lookup (per row on the REST hot path). */
const twoDigits = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

function fraction(f: string | undefined): string {
  return f ? `.${f}` : '';
}

/** Days in month `m` (1-12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  return m === 2
    ? y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(m)
      ? 30
      : 31;
}

/** "YYYY-MM-DDTHH:MM:SS" of a UTC millisecond count, by integer arithmetic (days → civil date). */
function isoSeconds(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const secs = Math.floor((ms - days * 86_400_000) / 1000);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const year = y >= 0 && y <= 9999 ? twoDigits[Math.floor(y / 100)]! + twoDigits[y % 100]! : pad(y, 4);
  return `${year}-${twoDigits[m]}-${twoDigits[d]}T${twoDigits[Math.floor(secs / 3600)]}:${twoDigits[Math.floor(secs / 60) % 60]}:${twoDigits[secs % 60]}`;
}

/** "2024-03-01 08:30:00.5" in Europe/Paris → "2024-03-01T07:30:00.5Z". null when the text is no datetime. */
export function localToUtcIso(local: string, timeZone: string): string | null {
  const hourly = viaHour(local, timeZone);
  if (hourly !== undefined) return hourly;
  const fast = parseCommonLocal(local);
  if (fast !== undefined) return fast === null ? null : toUtcIso(fast, local.slice(20), timeZone);
  const m = localPattern.exec(local.trim());
  if (!m) return null;
  const [y, mo, d] = [+m[1]!, +m[2]!, +m[3]!];
  if (
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > daysInMonth(y, mo) ||
    +(m[4] ?? 0) > 23 ||
    +(m[5] ?? 0) > 59 ||
    +(m[6] ?? 0) > 59
  )
    return null;
  const wall = utcMs(y, mo - 1, d, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return toUtcIso(wall, m[7] ?? '', timeZone);
}

/** The wall clock (as UTC ms) and the fraction digits as they were stored, converted to ISO UTC. */
function toUtcIso(wall: number, frac: string, timeZone: string): string {
  // Two passes settle the offset across DST changes; a skipped wall time resolves forward.
  const first = offsetAt(wall, timeZone);
  const second = offsetAt(wall - first, timeZone);
  // DATETIME(6) pads with zeros: "08:00:00.000000" and "08:00:00" are the same instant, sent the short way.
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  return `${isoSeconds(wall - second)}${end > 0 ? `.${frac.slice(0, end)}` : ''}Z`;
}

/** Per zone: local hour (see viaHour) → "YYYY-MM-DDTHH" in UTC, or null when that hour is not a plain shift. */
const hourPrefixes = new Map<string, Map<number, string | null>>();
const hour = 3_600_000;

/**
 * Most zones are whole hours off UTC, and then a conversion keeps minutes and seconds: the UTC
 * date and hour of a local hour are worked out once and reused for every row in that hour.
 * undefined when the text is not in the drivers' common shape or the hour is not such a shift
 * (DST changes, half-hour zones): the general path decides those.
 */
function viaHour(local: string, timeZone: string): string | undefined {
  const wall = parseCommonLocal(local);
  if (wall === undefined || wall === null) return undefined;
  // The local hour as an integer key (no substring to allocate and hash per row).
  const key = Math.floor(wall / hour);
  const len = local.length;
  let zone = hourPrefixes.get(timeZone);
  if (!zone) hourPrefixes.set(timeZone, (zone = new Map()));
  let prefix = zone.get(key);
  if (prefix === undefined) {
    prefix = utcHourPrefix(local.slice(0, 13), timeZone);
    if (zone.size >= 100_000) zone.clear();
    zone.set(key, prefix);
  }
  if (prefix === null) return undefined;
  let end = len;
  while (end > 20 && local.charCodeAt(end - 1) === 48) end--;
  return `${prefix}${local.slice(13, 19)}${end > 20 ? local.slice(19, end) : ''}Z`;
}

/**
 * The UTC "YYYY-MM-DDTHH" of local hour `key` when both passes of the offset lookup give the same
 * whole-hour offset in each of its quarter hours (offsets change on quarter hours), else null.
 */
function utcHourPrefix(key: string, timeZone: string): string | null {
  const wall = parseCommonLocal(`${key}:00:00`);
  if (wall === undefined || wall === null) return null;
  let offset: number | undefined;
  for (let q = 0; q < 4; q++) {
    const w = wall + q * quarterHour;
    const first = offsetAt(w, timeZone);
    const second = offsetAt(w - first, timeZone);
    if (first % hour !== 0 || second % hour !== 0 || (offset !== undefined && second !== offset)) return null;
    offset = second;
  }
  const iso = isoSeconds(wall - offset!);
  return iso.length === 19 ? iso.slice(0, 13) : null;
}

/** Value of the ASCII digits s[from, from + n), or -1 when one is not a digit. */
function digitsAt(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The shape drivers return ("YYYY-MM-DD HH:MM:SS[.f…]", no padding) read without a regex:
 * the wall clock as UTC ms (the fraction digits are `local.slice(20)`); null when it has that shape
 * but is no valid datetime; undefined for any other shape (the regex path decides those).
 */
function parseCommonLocal(local: string): number | null | undefined {
  const len = local.length;
  if (len !== 19 && (len < 21 || len > 29 || local.charCodeAt(19) !== 46)) return undefined;
  const sep = local.charCodeAt(10);
  if (
    local.charCodeAt(4) !== 45 ||
    local.charCodeAt(7) !== 45 ||
    (sep !== 32 && sep !== 84) ||
    local.charCodeAt(13) !== 58 ||
    local.charCodeAt(16) !== 58 ||
    (len > 19 && digitsAt(local, 20, len - 20) < 0)
  )
    return undefined;
  const y = digitsAt(local, 0, 4);
  const mo = digitsAt(local, 5, 2);
  const d = digitsAt(local, 8, 2);
  const h = digitsAt(local, 11, 2);
  const mi = digitsAt(local, 14, 2);
  const sec = digitsAt(local, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return null;
  return utcMs(y, mo - 1, d, h, mi, sec);
}

/** "2024-03-01T07:30:00.5Z" (or with an offset) → "2024-03-01 08:30:00.5" in `timeZone`. */
export function utcIsoToLocal(iso: string, timeZone: string): string {
  const m = isoPattern.exec(iso.trim());
  if (!m) throw new RangeError(`not an ISO datetime: ${iso}`);
  let utc = utcMs(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
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

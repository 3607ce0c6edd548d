// When to try again: exponential backoff with full jitter, unless the endpoint said (Retry-After).

/**
 * The pause after the `failures`-th failed attempt: a uniform random value in
 * [0, min(maxMs, initialMs × 2^(failures-1))] ("full jitter"), so endpoints coming back from an
 * outage are not hit by every sender at the same instant.
 */
export function backoffDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` header in milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110
 * §10.2.3). Null when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

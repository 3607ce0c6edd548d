// RFC 7240 Prefer: the preferences the API honours, and the Preference-Applied echo.

export interface Preferences {
  readonly return?: 'minimal' | 'representation';
  readonly count?: 'exact' | 'estimated';
}

export function parsePrefer(header: string | undefined): Preferences {
  const out: { return?: 'minimal' | 'representation'; count?: 'exact' | 'estimated' } = {};
  if (!header) return out;
  for (const part of header.split(/[,;]/)) {
    const [k, v] = part.split('=').map((s) => s.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (k === 'return' && (v === 'minimal' || v === 'representation')) out.return = v;
    // `planned` (PostgREST) is taken as estimated.
    if (k === 'count' && (v === 'exact' || v === 'estimated' || v === 'planned'))
      out.count = v === 'exact' ? 'exact' : 'estimated';
  }
  return out;
}

export function preferenceApplied(p: Preferences): string | undefined {
  const parts: string[] = [];
  if (p.return) parts.push(`return=${p.return}`);
  if (p.count) parts.push(`count=${p.count}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

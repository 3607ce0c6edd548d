// Who is calling: an API key (X-API-Key, compared by SHA-256 hash) or a JWT (Authorization: Bearer,
// HMAC secret or a JWKS file), or nobody (anonymous). Bad credentials are always a 401.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config/api.js';
import { ConfigError } from '../core/errors.js';
import { UnauthorizedProblem } from './problem.js';

export interface Principal {
  readonly kind: 'anonymous' | 'apiKey' | 'jwt';
  /** Stable id for rate limits and idempotency scopes: key name, token subject, or '' for anonymous. */
  readonly id: string;
  /** Roles; `anonymous` for anonymous callers, plus `authenticated` for everyone else. */
  readonly roles: readonly string[];
  /** JWT claims, or { name, sub } for API keys. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export const anonymous: Principal = Object.freeze({
  kind: 'anonymous',
  id: '',
  roles: ['anonymous'],
  claims: {},
});

export type Authenticator = (headers: {
  apiKey?: string | undefined;
  authorization?: string | undefined;
}) => Promise<Principal>;

/** `sha256:<hex>` of an API key, the form api.auth.apiKeys[].hash takes. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function rolesFrom(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  if (typeof claim === 'string') return claim.split(/[\s,]+/).filter((r) => r !== '');
  return [];
}

const bearerChallenge = (error?: string) => ({
  'www-authenticate': error ? `Bearer error="${error}"` : 'Bearer',
});

export async function createAuthenticator(auth: AuthConfig): Promise<Authenticator> {
  const keys = new Map(auth.apiKeys.map((k) => [k.hash, k]));
  const jwt = auth.jwt;
  let verifyKey: Uint8Array | JWTVerifyGetKey | undefined;
  if (jwt?.secret) verifyKey = new TextEncoder().encode(jwt.secret);
  else if (jwt?.jwksFile) {
    try {
      verifyKey = createLocalJWKSet(
        JSON.parse(await readFile(jwt.jwksFile, 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
      );
    } catch (err) {
      throw new ConfigError(
        `api.auth.jwt.jwksFile: cannot read a JWKS from ${jwt.jwksFile}: ${(err as Error).message}`,
        ['api.auth.jwt.jwksFile: unreadable'],
      );
    }
  }

  return async ({ apiKey, authorization }) => {
    if (apiKey !== undefined) {
      const k = keys.get(hashApiKey(apiKey));
      if (!k)
        throw new UnauthorizedProblem('unknown API key', [], { headers: bearerChallenge('invalid_token') });
      return {
        kind: 'apiKey',
        id: `key:${k.name}`,
        roles: [...k.roles, 'authenticated'],
        claims: { name: k.name, sub: k.name },
      };
    }
    if (authorization === undefined) return anonymous;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m)
      throw new UnauthorizedProblem('expected Authorization: Bearer <token>', [], {
        headers: bearerChallenge('invalid_request'),
      });
    if (!jwt || !verifyKey)
      throw new UnauthorizedProblem('bearer tokens are not accepted here', [], {
        headers: bearerChallenge('invalid_token'),
      });
    try {
      const opts = {
        ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
        ...(jwt.audience ? { audience: jwt.audience } : {}),
        clockTolerance: Math.round(jwt.clockTolerance / 1000),
      };
      const { payload } =
        verifyKey instanceof Uint8Array
          ? await jwtVerify(m[1]!, verifyKey, opts)
          : await jwtVerify(m[1]!, verifyKey, opts);
      const roles = rolesFrom(payload[jwt.rolesClaim]);
      return {
        kind: 'jwt',
        id: `jwt:${payload.sub ?? ''}`,
        roles: [...roles, 'authenticated'],
        claims: payload,
      };
    } catch (err) {
      const why = err instanceof joseErrors.JOSEError ? err.code : 'ERR_INVALID';
      throw new UnauthorizedProblem(`invalid token (${why})`, [], {
        headers: bearerChallenge('invalid_token'),
        cause: err,
      });
    }
  };
}

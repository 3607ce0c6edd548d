// Every thrown error → an RFC 9457 response. Client mistakes never become a 500.
import { SourceUnavailableError } from '../core/errors.js';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { QuerySyntaxError } from '../resources/filter-grammar.js';
import { DataRejectedError } from '../resources/resource-store.js';
import { CodecError, StoredValueError } from '../core/codecs.js';
import {
  BadRequestProblem,
  ConflictProblem,
  HttpProblem,
  PayloadTooLargeProblem,
  problemResponse,
  ServiceUnavailableProblem,
  StoredValueProblem,
  UnprocessableProblem,
} from './problem.js';

export interface ErrorLog {
  error(obj: object, msg: string): void;
}

const dataMessages = {
  unique: 'a row with this key or unique value already exists',
  foreignKey: 'the row refers to, or is referred to by, rows that do not allow this',
  notNull: 'a required column would be empty',
  check: 'the database rejected the values (check constraint)',
  invalidValue: 'a value does not fit its column (too long, out of range or malformed)',
  concurrency: 'a concurrent request locked the same rows; retry',
} as const;

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|PROTOCOL_CONNECTION_LOST|57P0[1-3]|08\d{3})$/.test(
      code,
    )
  );
}

export function toProblem(err: unknown, method: string): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof QuerySyntaxError)
    return new BadRequestProblem(err.message, [{ path: err.parameter, message: err.message }]);
  if (err instanceof StoredValueError) return new StoredValueProblem(err.message, [], { cause: err });
  if (err instanceof CodecError) return new BadRequestProblem(err.message);
  if (err instanceof DataRejectedError) {
    const msg = dataMessages[err.kind];
    if (err.kind === 'concurrency') return new ConflictProblem(msg, [], { headers: { 'retry-after': '1' } });
    if (method === 'GET' || method === 'HEAD')
      return new BadRequestProblem(`a filter value does not fit its column: ${msg}`);
    return err.kind === 'unique' || err.kind === 'foreignKey'
      ? new ConflictProblem(msg)
      : new UnprocessableProblem(msg);
  }
  if (err instanceof HTTPException) {
    if (err.status === 413) return new PayloadTooLargeProblem('the body is too large');
    return new BadRequestProblem(err.message || 'bad request');
  }
  if (err instanceof Error && err.name === 'KnexTimeoutError')
    return new ServiceUnavailableProblem('the database is busy; retry shortly');
  if (err instanceof SourceUnavailableError || isConnectionError(err))
    return new ServiceUnavailableProblem('the database cannot be reached right now');
  return new HttpProblem('an unexpected error occurred; it has been logged');
}

export function errorMapper(log: ErrorLog) {
  return (err: Error, c: Context): Response => {
    const p = toProblem(err, c.req.method);
    // An unreachable database is logged once per state change (src/sql/database.ts), not per request.
    const unreachable = err instanceof SourceUnavailableError || isConnectionError(err);
    if (p.status >= 500 && !unreachable)
      log.error({ err, path: c.req.path, method: c.req.method }, 'request failed');
    return problemResponse(p, new URL(c.req.url).pathname);
  };
}

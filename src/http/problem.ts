// RFC 9457 problem details: every error the API returns is one of these classes, rendered as
// application/problem+json by `problemResponse`.
import { BridgeError } from '../core/errors.js';

export interface ProblemIssue {
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

export class HttpProblem extends BridgeError {
  override readonly code: string = 'HTTP_PROBLEM';
  readonly status: number = 500;
  readonly title: string = 'Internal Server Error';
  readonly headers: Record<string, string> = {};
  constructor(
    readonly detail: string,
    readonly issues: readonly ProblemIssue[] = [],
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(detail, options.cause === undefined ? {} : { cause: options.cause });
    if (options.headers) this.headers = options.headers;
  }
}

export class BadRequestProblem extends HttpProblem {
  override readonly code = 'BAD_REQUEST';
  override readonly status = 400;
  override readonly title = 'Bad Request';
}
export class UnauthorizedProblem extends HttpProblem {
  override readonly code = 'UNAUTHORIZED';
  override readonly status = 401;
  override readonly title = 'Unauthorized';
}
export class ForbiddenProblem extends HttpProblem {
  override readonly code = 'FORBIDDEN';
  override readonly status = 403;
  override readonly title = 'Forbidden';
}
export class NotFoundProblem extends HttpProblem {
  override readonly code = 'NOT_FOUND';
  override readonly status = 404;
  override readonly title = 'Not Found';
}
export class MethodNotAllowedProblem extends HttpProblem {
  override readonly code = 'METHOD_NOT_ALLOWED';
  override readonly status = 405;
  override readonly title = 'Method Not Allowed';
}
export class ConflictProblem extends HttpProblem {
  override readonly code = 'CONFLICT';
  override readonly status = 409;
  override readonly title = 'Conflict';
}
/** A resume position the stream no longer holds (or never held): resuming would lose events. */
export class GoneProblem extends HttpProblem {
  override readonly code = 'GONE';
  override readonly status = 410;
  override readonly title = 'Gone';
}
export class PreconditionFailedProblem extends HttpProblem {
  override readonly code = 'PRECONDITION_FAILED';
  override readonly status = 412;
  override readonly title = 'Precondition Failed';
}
export class PayloadTooLargeProblem extends HttpProblem {
  override readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly status = 413;
  override readonly title = 'Content Too Large';
}
export class UnsupportedMediaTypeProblem extends HttpProblem {
  override readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly status = 415;
  override readonly title = 'Unsupported Media Type';
}
export class UnprocessableProblem extends HttpProblem {
  override readonly code = 'VALIDATION_FAILED';
  override readonly status = 422;
  override readonly title = 'Unprocessable Content';
}
export class TooManyRequestsProblem extends HttpProblem {
  override readonly code = 'RATE_LIMITED';
  override readonly status = 429;
  override readonly title = 'Too Many Requests';
}
/** Idempotency-Key was sent, but its table is not installed (`sluice migrate --api`). */
export class IdempotencyNotInstalledProblem extends HttpProblem {
  override readonly code = 'IDEMPOTENCY_NOT_INSTALLED';
  override readonly status = 501;
  override readonly title = 'Not Implemented';
}
/** A stored value the configuration refuses to show (a yn field with `unknown: error`). */
export class StoredValueProblem extends HttpProblem {
  override readonly code = 'STORED_VALUE_INVALID';
  override readonly status = 500;
  override readonly title = 'Internal Server Error';
}
export class ServiceUnavailableProblem extends HttpProblem {
  override readonly code = 'UNAVAILABLE';
  override readonly status = 503;
  override readonly title = 'Service Unavailable';
}

export const problemContentType = 'application/problem+json';

/** The JSON body of a problem (RFC 9457 members plus `code` and `errors` extensions). */
export function problemBody(p: HttpProblem, instance: string): Record<string, unknown> {
  return {
    type: `urn:sluice:problem:${p.code.toLowerCase().replaceAll('_', '-')}`,
    title: p.title,
    status: p.status,
    detail: p.detail,
    instance,
    code: p.code,
    ...(p.issues.length > 0 ? { errors: p.issues } : {}),
  };
}

export function problemResponse(
  p: HttpProblem,
  instance: string,
  extraHeaders: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problemBody(p, instance)), {
    status: p.status,
    headers: { 'content-type': problemContentType, ...extraHeaders, ...p.headers },
  });
}

/** zod issues → problem issues with dotted paths. */
export function zodIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[],
): ProblemIssue[] {
  return issues.map((i) => ({
    path: i.path.length === 0 ? '(body)' : i.path.map(String).join('.'),
    message: i.message,
    ...(i.code ? { code: i.code } : {}),
  }));
}

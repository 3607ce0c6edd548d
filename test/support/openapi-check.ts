// Checks responses against the OpenAPI 3.1 document the server serves: the operation exists, the
// status is declared, the body matches the declared media type and schema (or is empty where none
// is declared), declared headers have their schemas and the required ones are present; a request
// that got a 2xx must itself be valid per the document (the document must not refuse what the
// server accepts). openapi-backend routes and validates; its customizeAjv hook gives it Ajv's
// JSON Schema 2020-12 class, the dialect of OpenAPI 3.1 schemas.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface CheckedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

export interface CheckedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

type Json = Record<string, unknown>;

export class OpenApiCheck {
  /** Every violation seen, one line each (`METHOD path → status: what`). */
  readonly violations: string[] = [];
  /** Responses checked. */
  checked = 0;

  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));

  private constructor(
    private readonly backend: OpenAPIBackend,
    readonly document: Json,
  ) {}

  static async create(document: Json): Promise<OpenApiCheck> {
    const backend = new OpenAPIBackend({
      definition: structuredClone(document) as unknown as Document,
      // quick: skips openapi-backend's own document check, which knows OpenAPI 3.0 only (the
      // document is checked as 3.1 by @seriousme/openapi-schema-validator and Redocly lint).
      quick: true,
      strict: true,
      validate: true,
      customizeAjv: (_original, options) =>
        addFormats(new Ajv2020({ ...options, strict: false, allErrors: true })),
    });
    await backend.init();
    return new OpenApiCheck(backend, document);
  }

  /** Checks one exchange; violations are recorded and returned. */
  check(req: CheckedRequest, res: CheckedResponse): string[] {
    this.checked++;
    const out: string[] = [];
    const url = new URL(req.path, 'http://localhost');
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const had = query[k];
      query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    const request = {
      method: req.method.toLowerCase(),
      path: url.pathname,
      query,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
    };
    const op = this.backend.matchOperation(request);
    if (!op) out.push(...this.outside(res));
    else {
      const responses = (op.responses ?? {}) as Record<string, Json>;
      const declared =
        responses[String(res.status)] ?? responses[`${String(res.status)[0]}XX`] ?? responses.default;
      if (!declared)
        out.push(`status ${res.status} not declared (have ${Object.keys(responses).join(', ')})`);
      else {
        out.push(...this.body(op, declared, res));
        out.push(...this.headers(op, declared, res));
      }
      if (res.status >= 200 && res.status < 300) out.push(...this.request(request, op));
    }
    const where = `${req.method} ${req.path} → ${res.status}`;
    for (const v of out) this.violations.push(`${where}: ${v}`);
    return out;
  }

  /**
   * A request no operation declares (a composite key with a value missing, an unknown path): the
   * only truthful answer is a 4xx problem matching the document's Problem schema.
   */
  private outside(res: CheckedResponse): string[] {
    if (res.status < 400 || res.status > 499)
      return [`no operation in the document, and status ${res.status}`];
    if (res.headers.get('content-type') !== 'application/problem+json')
      return ['no operation in the document, and not a problem+json answer'];
    const schemas = (this.document.components as { schemas: Record<string, Json> }).schemas;
    const validate = this.ajv.compile({ ...schemas.Problem });
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return ['problem body is not JSON'];
    }
    return validate(body) ? [] : [`problem body: ${JSON.stringify(validate.errors)}`];
  }

  /** The request against the document (its parameters and body). */
  private request(request: Parameters<OpenAPIBackend['validateRequest']>[0], op: Operation): string[] {
    const v = this.backend.validator.validateRequest(request, op);
    return v.valid ? [] : [`accepted request is invalid per the document: ${JSON.stringify(v.errors)}`];
  }

  private body(op: Operation, declared: Json, res: CheckedResponse): string[] {
    const content = declared.content as Record<string, Json> | undefined;
    const type = res.headers.get('content-type')?.split(';')[0]?.trim();
    if (!content || Object.keys(content).length === 0)
      return res.text === '' ? [] : [`body sent where the document declares none (${type ?? 'no type'})`];
    if (!type || !(type in content))
      return [`content-type ${type ?? '(none)'} not declared (have ${Object.keys(content).join(', ')})`];
    if (!/json/.test(type)) return [];
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return ['body is not JSON'];
    }
    const v = this.backend.validator.validateResponse(body, op, res.status);
    return v.valid ? [] : [`body: ${JSON.stringify(v.errors)}`];
  }

  private headers(op: Operation, declared: Json, res: CheckedResponse): string[] {
    const out: string[] = [];
    const sent = Object.fromEntries(res.headers);
    // openapi-backend checks the schema of each declared header present; it ignores `required`.
    const v = this.backend.validator.validateResponseHeaders(sent, op, {
      statusCode: res.status,
      setMatchType: 'any' as never,
    });
    if (!v.valid) out.push(`headers: ${JSON.stringify(v.errors)}`);
    for (const [name, h] of Object.entries((declared.headers ?? {}) as Record<string, Json>))
      if (h.required === true && !res.headers.has(name)) out.push(`required header ${name} missing`);
    return out;
  }
}

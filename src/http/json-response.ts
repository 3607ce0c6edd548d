// A JSON response with plain-object headers. Hono's c.json turns more than one header into a fetch
// Headers object, which @hono/node-server then has to copy back out; a plain object is written as is.

/** `body` serialized once, with `content-type: application/json` and `headers`. */
export function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

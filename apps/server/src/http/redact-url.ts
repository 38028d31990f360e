import type { FastifyRequest } from "fastify";

const CENSOR = "[redacted]";

/**
 * Query parameter names whose value is a credential. pino's `redact` works on object paths and
 * cannot reach into a URL string, so a client that puts `?token=dmt_…` (as browsers' EventSource
 * must) would otherwise have its token written verbatim into the request log.
 */
const SECRET_NAME = /token|key|secret|passw|auth|session|signature|credential/i;

/** Our own tokens, wherever they appear (also percent-encoded `_`): `dmt_…` sessions, `dmk_…` API keys. */
const OUR_TOKEN = /dm[tk](?:_|%5f)[^&/?#\s]*/gi;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** The URL with every credential-looking query value, and every `dmt_`/`dmk_` token anywhere, replaced. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf("?");
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  const query = queryStart === -1 ? undefined : url.slice(queryStart + 1);
  const safePath = path.replace(OUR_TOKEN, CENSOR);
  if (query === undefined) return safePath;
  const safeQuery = query
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      if (equals === -1) return pair.replace(OUR_TOKEN, CENSOR);
      const name = pair.slice(0, equals);
      const value = pair.slice(equals + 1);
      if (SECRET_NAME.test(decoded(name)) || /^dm[tk]_/i.test(decoded(value))) return `${name}=${CENSOR}`;
      return `${name.replace(OUR_TOKEN, CENSOR)}=${value.replace(OUR_TOKEN, CENSOR)}`;
    })
    .join("&");
  return `${safePath}?${safeQuery}`;
}

/**
 * What a log line says about a request: fastify's own request serializer (method, url, host,
 * address, port) with the URL redacted. Installed on the app's logger, so it applies to the
 * "incoming request" line and to every line that carries `req`.
 */
export function requestLogView(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket.remotePort,
  };
}

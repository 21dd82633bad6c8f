/**
 * http_inspector as Envoy 1.38 runs it (reference §2.2): it peeks at the client's first bytes and
 * sets ALPN "http/1.1" only for a valid HTTP/1.1 request line, "h2c" for the HTTP/2 preface, and
 * nothing for anything else. With no bytes it waits (protocolDetectionTimeout is 0).
 */

export type InspectorVerdict = 'http/1.1' | 'http/1.0' | 'h2c' | 'not-http' | 'need-more';

const H2C_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** Methods http-parser knows; anything else fails on the first bad byte (HPE_INVALID_METHOD). */
export const HTTP_METHODS = [
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE',
  'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK',
];
/** Envoy gives up after this many bytes without a full first line. */
export const MAX_INSPECT_SIZE = 64 * 1024;

/** Whether `text` can still become the start of a known method followed by a space. */
function methodPrefixOk(text: string): boolean {
  const token = text.split(' ')[0] ?? '';
  const complete = text.includes(' ');
  return HTTP_METHODS.some((m) => (complete ? m === token : m.startsWith(token)));
}

export function inspectHttp(data: Buffer): InspectorVerdict {
  const text = data.toString('latin1');
  if (H2C_PREFACE.startsWith(text)) return text.length >= H2C_PREFACE.length ? 'h2c' : 'need-more';
  if (text.startsWith(H2C_PREFACE)) return 'h2c';
  if (!methodPrefixOk(text)) return 'not-http';
  // http-parser ends the request line at LF, with or without CR (what `nc` sends is a bare LF).
  const eol = text.indexOf('\n');
  if (eol < 0) return data.length >= MAX_INSPECT_SIZE ? 'not-http' : 'need-more';
  const line = text.slice(0, eol).replace(/\r$/, '');
  if (isHttp11RequestLine(line)) return 'http/1.1';
  // HTTP/1.0 is recognised (http10_found) but its ALPN matches no Istio HCM chain unless PILOT_HTTP10 is set.
  return isRequestLine(line, 'HTTP/1.0') ? 'http/1.0' : 'not-http';
}

function isRequestLine(line: string, version: string): boolean {
  const parts = line.split(' ');
  return parts.length === 3 && HTTP_METHODS.includes(parts[0]!) && parts[1]!.length > 0 && parts[2] === version;
}

export function isHttp11RequestLine(line: string): boolean {
  return isRequestLine(line, 'HTTP/1.1');
}

/**
 * http_inspector as Envoy 1.38 runs it (reference §2.2): it peeks at the client's first bytes and
 * sets ALPN "http/1.1" only for a valid HTTP/1.1 request line, "h2c" for the HTTP/2 preface, and
 * nothing for anything else. With no bytes it waits (protocolDetectionTimeout is 0).
 */

export type InspectorVerdict = 'http/1.1' | 'h2c' | 'not-http' | 'need-more';

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
  const eol = text.indexOf('\r\n');
  if (eol < 0) return data.length >= MAX_INSPECT_SIZE ? 'not-http' : 'need-more';
  return isHttp11RequestLine(text.slice(0, eol)) ? 'http/1.1' : 'not-http';
}

export function isHttp11RequestLine(line: string): boolean {
  const parts = line.split(' ');
  return parts.length === 3 && HTTP_METHODS.includes(parts[0]!) && parts[1]!.length > 0 && parts[2] === 'HTTP/1.1';
}

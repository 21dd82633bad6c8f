/**
 * http_inspector as Envoy runs it: it peeks at the client's first bytes and sets ALPN "http/1.1",
 * "http/1.0" or "h2c", or nothing; with no bytes it waits (protocolDetectionTimeout is 0). Envoy
 * parses the first line with its HTTP/1 parser (BalsaParser, custom methods allowed); the rules
 * below are what Envoy 1.40.0 was seen to do on each case (test/lab/httpInspectorEnvoy.test.ts
 * runs the same inputs through real Envoy):
 *   `GET / HTTP/1.1`, `get / HTTP/1.1`, `FOO / HTTP/1.1`           → http/1.1 (any token is a method)
 *   `keys *`, `GET /`, `GET / HTTP/1.0`, `GET / HTTP/2.0`, `/1.2`   → http/1.0 (no version, or another HTTP/d.d)
 *   `PING`, `GET  HTTP/1.1`, `GET / HTTP/1.1 extra`, `GET / FOO`   → not HTTP (not METHOD SP TARGET [SP VERSION])
 *   a first token with a non-token byte (`\x16` of a ClientHello)  → not HTTP at once, before a line end
 *   `k`, `ke y`, `GET / HTTP/1.1` without a line end                → waits for more bytes
 * Istio's HTTP chains match only http/1.1 and h2c, so http/1.0 still takes the passthrough chain.
 */

export type InspectorVerdict = 'http/1.1' | 'http/1.0' | 'h2c' | 'not-http' | 'need-more';

const H2C_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** RFC 9110 token: what Envoy's parser takes as a method. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Envoy gives up after this many bytes without a full first line. */
export const MAX_INSPECT_SIZE = 64 * 1024;

export function inspectHttp(data: Buffer): InspectorVerdict {
  const text = data.toString('latin1');
  if (H2C_PREFACE.startsWith(text)) return text.length >= H2C_PREFACE.length ? 'h2c' : 'need-more';
  if (text.startsWith(H2C_PREFACE)) return 'h2c';
  // The parser ends the request line at LF, with or without CR (what `nc` sends is a bare LF).
  const eol = text.indexOf('\n');
  if (eol < 0) {
    const method = text.split(' ')[0]!;
    if (method !== '' && !TOKEN.test(method)) return 'not-http';
    return data.length >= MAX_INSPECT_SIZE ? 'not-http' : 'need-more';
  }
  return requestLineVersion(text.slice(0, eol).replace(/\r$/, ''));
}

function requestLineVersion(line: string): InspectorVerdict {
  const parts = line.split(' ');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '') || !TOKEN.test(parts[0]!)) return 'not-http';
  const version = parts[2];
  if (version === undefined) return 'http/1.0';
  if (version === 'HTTP/1.1') return 'http/1.1';
  return /^HTTP\/\d\.\d$/.test(version) ? 'http/1.0' : 'not-http';
}

/**
 * Methods the HTTP connection manager's codec accepts (custom methods are off by default there,
 * unlike in http_inspector): a request line with another method gets the codec's 400, as seed 000's
 * `keys *` did on Istio 1.4's plain HTTP listener.
 */
export const CODEC_METHODS = [
  'DELETE',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'COPY',
  'LOCK',
  'MKCOL',
  'MOVE',
  'PROPFIND',
  'PROPPATCH',
  'SEARCH',
  'UNLOCK',
  'BIND',
  'REBIND',
  'UNBIND',
  'ACL',
  'REPORT',
  'MKACTIVITY',
  'CHECKOUT',
  'MERGE',
  'M-SEARCH',
  'NOTIFY',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'PATCH',
  'PURGE',
  'MKCALENDAR',
  'LINK',
  'UNLINK',
];

/** What the HCM's codec makes of the first bytes: a request (HTTP/1.x), a 400, or nothing yet. */
export function codecVerdict(data: Buffer): InspectorVerdict {
  const verdict = inspectHttp(data);
  if (verdict !== 'http/1.1' && verdict !== 'http/1.0') return verdict;
  return CODEC_METHODS.includes(data.toString('latin1').split(' ')[0]!) ? verdict : 'not-http';
}

/** Exactly METHOD SP target SP HTTP/1.1 (the HTTP/1.1 HCM's own parser agrees). */
export function isHttp11RequestLine(line: string): boolean {
  return requestLineVersion(line) === 'http/1.1';
}

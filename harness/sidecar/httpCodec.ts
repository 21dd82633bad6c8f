/**
 * The bytes of the HTTP/1 exchanges the sidecar model produces itself, and a request-head parser.
 * The 400 forms come from reference §2.3 (modern) and seed 000 (legacy, Envoy's raw-codec reply).
 */
import type { IstioEra } from '../model/iptables.ts';
import { HTTP_METHODS } from './inspector.ts';

export const LEGACY_400 = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';

export function badRequest(era: IstioEra, now: Date): string {
  if (era === 'legacy') return LEGACY_400;
  return (
    'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n' +
    `date: ${now.toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\nBad Request`
  );
}

/** block_all: a direct 502 with no body (reference §3). */
export function blockAll502(now: Date): string {
  return `HTTP/1.1 502 Bad Gateway\r\ndate: ${now.toUTCString()}\r\nserver: envoy\r\ncontent-length: 0\r\n\r\n`;
}

export interface RequestHead {
  method: string;
  path: string;
  protocol: string;
  headers: Map<string, string>;
  /** Bytes of the head including the blank line. */
  length: number;
}

export type ParseResult = { kind: 'head'; head: RequestHead } | { kind: 'need-more' } | { kind: 'error'; reason: string };

/** A strict HTTP/1.x request-head parser: codec errors are what the sidecar must answer with 400. */
export function parseRequestHead(data: Buffer): ParseResult {
  const text = data.toString('latin1');
  const token = text.split(/[ \r\n]/)[0] ?? '';
  const complete = /[ \r\n]/.test(text);
  if (!HTTP_METHODS.some((m) => (complete ? m === token : m.startsWith(token)))) return { kind: 'error', reason: 'invalid method' };
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { kind: 'need-more' };
  const [requestLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const [method = '', path = '', protocol = '', extra] = requestLine.split(' ');
  if (extra !== undefined || !path || !/^HTTP\/1\.[01]$/.test(protocol)) return { kind: 'error', reason: 'invalid request line' };
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { kind: 'error', reason: 'invalid header' };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { kind: 'head', head: { method, path, protocol, headers, length: end + 4 } };
}

/** Status code of an upstream response's first bytes, if they start with a status line. */
export function responseStatus(data: Buffer): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.toString('latin1', 0, 16));
  return m ? Number(m[1]) : undefined;
}

/**
 * The part of Envoy's tls_inspector the sidecar needs: read a client's first bytes and say whether
 * they are a TLS ClientHello, and if so which server name (SNI) and ALPN protocols it offers, so that
 * filter chains with server_names / transport_protocol "tls" can be matched.
 *
 * Like the inspector it waits ("need-more") until the whole ClientHello has arrived, however the
 * client's writes were split, and gives up at Envoy's default max_client_hello_size (64 KiB).
 */

export type ClientHelloResult =
  | { kind: 'tls'; serverName?: string; alpn: string[] }
  /** `reason` says why, for logs; the sidecar only looks at `kind`. */
  | { kind: 'not-tls'; reason?: string }
  | { kind: 'need-more' };

/** Envoy's tls_inspector default max_client_hello_size. */
export const MAX_CLIENT_HELLO_SIZE = 64 * 1024;

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
/** TLSPlaintext.length may not exceed 2^14 (RFC 8446 §5.1). */
const MAX_RECORD = 16384;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const SNI_HOST_NAME = 0;

const notTls = (reason: string): ClientHelloResult => ({ kind: 'not-tls', reason });

export function parseClientHello(data: Buffer): ClientHelloResult {
  const handshake = reassemble(data);
  if (!Buffer.isBuffer(handshake)) return handshake;
  try {
    return parseBody(handshake);
  } catch (err) {
    if (err instanceof Malformed) return notTls(`malformed ClientHello: ${err.message}`);
    throw err;
  }
}

/**
 * Collects the handshake bytes from consecutive handshake records until the ClientHello's declared
 * length is there: a hello larger than one record (many key shares, padding) spans several. Returns
 * the ClientHello body, or the verdict when it cannot yet (or ever) be had.
 */
function reassemble(data: Buffer): Buffer | ClientHelloResult {
  const fragments: Buffer[] = [];
  for (let off = 0; ;) {
    const header = checkRecordHeader(data.subarray(off, off + RECORD_HEADER), off === 0);
    if (header !== undefined) return header;
    const length = data.readUInt16BE(off + 3);
    if (length === 0 || length > MAX_RECORD) return notTls(`record length ${length}`);
    const end = off + RECORD_HEADER + length;
    fragments.push(data.subarray(off + RECORD_HEADER, Math.min(end, data.length)));
    const verdict = checkHandshake(Buffer.concat(fragments));
    if (Buffer.isBuffer(verdict)) return verdict;
    if (verdict.kind === 'not-tls' || end > data.length) return verdict;
    off = end;
  }
}

/** Whether the bytes of a record header seen so far can start a handshake record (undefined: yes, complete). */
function checkRecordHeader(h: Buffer, first: boolean): ClientHelloResult | undefined {
  if (h.length >= 1 && h[0] !== CONTENT_HANDSHAKE) {
    return notTls(first ? `content type ${h[0]}, not a handshake record` : `content type ${h[0]} inside a ClientHello`);
  }
  if (h.length >= 2 && h[1] !== 3) return notTls(`record version ${h[1]}.x, not 3.x`);
  return h.length < RECORD_HEADER ? { kind: 'need-more' } : undefined;
}

/** Judges the handshake bytes gathered so far: the body when complete, not-tls as early as the bytes allow. */
function checkHandshake(hs: Buffer): Buffer | ClientHelloResult {
  if (hs.length >= 1 && hs[0] !== HANDSHAKE_CLIENT_HELLO) return notTls(`handshake type ${hs[0]}, not ClientHello`);
  if (hs.length < HANDSHAKE_HEADER) return { kind: 'need-more' };
  const length = hs.readUIntBE(1, 3);
  if (HANDSHAKE_HEADER + length > MAX_CLIENT_HELLO_SIZE) return notTls(`ClientHello of ${length} bytes exceeds ${MAX_CLIENT_HELLO_SIZE}`);
  return hs.length >= HANDSHAKE_HEADER + length ? hs.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + length) : { kind: 'need-more' };
}

class Malformed extends Error {}

/** Bounds-checked reads over a complete structure: running past the end means the lengths lie. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  bytes(n: number, what: string): Buffer {
    if (n > this.remaining) throw new Malformed(`${what} needs ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uint(size: 1 | 2, what: string): number {
    const b = this.bytes(size, what);
    return size === 1 ? b[0]! : b.readUInt16BE(0);
  }

  /** A TLS vector: a length of `size` bytes, then that many bytes. */
  vector(size: 1 | 2, what: string): Reader {
    return new Reader(this.bytes(this.uint(size, `${what} length`), what));
  }

  /** The whole rest as a string: names are ASCII on the wire. */
  rest(): string {
    return this.bytes(this.remaining, 'rest').toString('latin1');
  }
}

/** RFC 8446 §4.1.2: version, random, session id, cipher suites, compression methods, extensions. */
function parseBody(body: Buffer): ClientHelloResult {
  const r = new Reader(body);
  r.bytes(2 + 32, 'legacy_version and random');
  if (r.vector(1, 'session id').remaining > 32) throw new Malformed('session id longer than 32 bytes');
  const suites = r.vector(2, 'cipher suites').remaining;
  if (suites === 0 || suites % 2 !== 0) throw new Malformed(`cipher suites of ${suites} bytes`);
  if (r.vector(1, 'compression methods').remaining === 0) throw new Malformed('no compression method');
  // A hello without extensions (SSLv3-style) is still TLS, with neither SNI nor ALPN.
  if (r.remaining === 0) return { kind: 'tls', alpn: [] };
  const result = parseExtensions(r.vector(2, 'extensions'));
  if (r.remaining !== 0) throw new Malformed(`${r.remaining} bytes after the extensions`);
  return result;
}

function parseExtensions(exts: Reader): ClientHelloResult {
  const seen = new Set<number>();
  let serverName: string | undefined;
  let alpn: string[] = [];
  while (exts.remaining > 0) {
    const type = exts.uint(2, 'extension type');
    const data = exts.vector(2, `extension ${type}`);
    // BoringSSL, which Envoy's inspector runs on, rejects a hello that repeats an extension.
    if (seen.has(type)) throw new Malformed(`extension ${type} twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) serverName = parseServerName(data);
    else if (type === EXT_ALPN) alpn = parseAlpn(data);
  }
  return serverName === undefined ? { kind: 'tls', alpn } : { kind: 'tls', serverName, alpn };
}

/** RFC 6066 §3: a list of (name_type, name); the host_name entry is the SNI. */
function parseServerName(data: Reader): string | undefined {
  const list = data.vector(2, 'server name list');
  let host: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.uint(1, 'name type');
    const name = list.vector(2, 'server name').rest();
    if (nameType !== SNI_HOST_NAME) continue;
    if (name.length === 0 || name.includes('\0')) throw new Malformed('empty or NUL-bearing host_name');
    host ??= name;
  }
  return host;
}

/** RFC 7301 §3.1: a list of non-empty protocol names, one length byte each. */
function parseAlpn(data: Reader): string[] {
  const list = data.vector(2, 'ALPN list');
  const out: string[] = [];
  while (list.remaining > 0) {
    const proto = list.vector(1, 'ALPN protocol').rest();
    if (proto.length === 0) throw new Malformed('empty ALPN protocol');
    out.push(proto);
  }
  if (out.length === 0) throw new Malformed('empty ALPN list');
  return out;
}

import test from 'ava';
import tls from 'node:tls';
import { MAX_CLIENT_HELLO_SIZE, parseClientHello } from '../../harness/sidecar/clientHello.ts';
import { captureFirstRecord } from '../helpers/clientHello.ts';

// --- Real ClientHellos from Node's TLS client, captured by a plain TCP server on 127.0.0.1.

function nodeHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return captureFirstRecord((port) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.on('error', () => {}); // the capture server hangs up mid-handshake
    return () => socket.destroy();
  });
}

test('Node tls.connect with servername and ALPN: the SNI and both protocols', async (t) => {
  const hello = await nodeHello({ servername: 'redis.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
  t.deepEqual(parseClientHello(hello), { kind: 'tls', serverName: 'redis.example.com', alpn: ['h2', 'http/1.1'] });
});

test('Node tls.connect to an IP address sends no SNI and no ALPN', async (t) => {
  const hello = await nodeHello({});
  t.deepEqual(parseClientHello(hello), { kind: 'tls', alpn: [] });
});

test('a real ClientHello arriving a byte at a time is need-more until its last byte', async (t) => {
  const hello = await nodeHello({ servername: 'split.example', ALPNProtocols: ['http/1.1'] });
  t.true(hello.length > 200, `a real hello is a few hundred bytes, got ${hello.length}`);
  const early = [];
  for (let n = 0; n < hello.length; n++) {
    const r = parseClientHello(hello.subarray(0, n));
    if (r.kind !== 'need-more') early.push(`${n}: ${r.kind}`);
  }
  t.deepEqual(early, []);
  t.deepEqual(parseClientHello(hello), { kind: 'tls', serverName: 'split.example', alpn: ['http/1.1'] });
});

test('bytes after the ClientHello (the next record) do not change the verdict', async (t) => {
  const hello = await nodeHello({ servername: 'more.example' });
  const next = Buffer.from([0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb]);
  t.deepEqual(parseClientHello(Buffer.concat([hello, next])), parseClientHello(hello));
  t.is((parseClientHello(Buffer.concat([hello, next])) as { serverName?: string }).serverName, 'more.example');
});

// --- Synthetic hellos, for shapes clients rarely send.

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

const vec16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);
const vec8 = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length]), b]);
const ext = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), vec16(data)]);
const sniExt = (host: string): Buffer => ext(0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(host))])));
const alpnExt = (protos: string[]): Buffer => ext(16, vec16(Buffer.concat(protos.map((p) => vec8(Buffer.from(p))))));

/** A ClientHello handshake message (type, 24-bit length, body) with the given extensions block. */
function handshake(extensions: Buffer | undefined): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    vec8(Buffer.alloc(32, 1)),
    vec16(Buffer.from([0x13, 0x01, 0x13, 0x02])),
    vec8(Buffer.from([0])),
    ...(extensions ? [vec16(extensions)] : []),
  ]);
  const len = Buffer.alloc(3);
  len.writeUIntBE(body.length, 0, 3);
  return Buffer.concat([Buffer.from([1]), len, body]);
}

/** Wraps handshake bytes in TLS records of at most `size` bytes each. */
function records(hs: Buffer, size = 16384): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < hs.length; off += size) {
    const frag = hs.subarray(off, off + size);
    out.push(Buffer.from([22, 3, 1]), u16(frag.length), frag);
  }
  return Buffer.concat(out);
}

test('a ClientHello fragmented over three records is reassembled, and need-more until the last', (t) => {
  const hs = handshake(Buffer.concat([sniExt('frag.example'), alpnExt(['h2'])]));
  const wire = records(hs, Math.ceil(hs.length / 3));
  t.is(wire.length, hs.length + 3 * 5, 'three record headers');
  t.deepEqual(parseClientHello(wire), { kind: 'tls', serverName: 'frag.example', alpn: ['h2'] });
  t.deepEqual(parseClientHello(wire.subarray(0, wire.length - 1)), { kind: 'need-more' });
  t.deepEqual(
    parseClientHello(wire.subarray(0, 5 + Math.ceil(hs.length / 3) + 3)),
    { kind: 'need-more' },
    'stopped inside the second header',
  );
});

test('a 40 KiB ClientHello (padding) spans three full records and still parses', (t) => {
  const hs = handshake(Buffer.concat([ext(21, Buffer.alloc(40_000)), sniExt('big.example')]));
  const wire = records(hs);
  t.true(wire.length > 2 * 16384);
  t.deepEqual(parseClientHello(wire), { kind: 'tls', serverName: 'big.example', alpn: [] });
});

test('a ClientHello declaring more than 64 KiB is given up on from its first bytes', (t) => {
  const header = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]); // handshake length 65536
  const r = parseClientHello(header);
  t.is(r.kind, 'not-tls');
  t.regex((r as { reason?: string }).reason ?? '', new RegExp(`exceeds ${MAX_CLIENT_HELLO_SIZE}`));
});

test('a hello without extensions is TLS with neither SNI nor ALPN', (t) => {
  t.deepEqual(parseClientHello(records(handshake(undefined))), { kind: 'tls', alpn: [] });
});

test('the first host_name wins; other name types are skipped', (t) => {
  const list = Buffer.concat([
    Buffer.from([7]),
    vec16(Buffer.from('other')),
    Buffer.from([0]),
    vec16(Buffer.from('first.example')),
    Buffer.from([0]),
    vec16(Buffer.from('second.example')),
  ]);
  t.deepEqual(parseClientHello(records(handshake(ext(0, vec16(list))))), { kind: 'tls', serverName: 'first.example', alpn: [] });
});

test('plain HTTP, Redis and SSH first bytes are not TLS', (t) => {
  for (const text of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'keys *\n', 'SSH-2.0-OpenSSH_9.6\r\n']) {
    t.is(parseClientHello(Buffer.from(text)).kind, 'not-tls', JSON.stringify(text));
  }
});

test('empty and partial record headers are need-more only while they can still be a handshake record', (t) => {
  t.deepEqual(parseClientHello(Buffer.alloc(0)), { kind: 'need-more' });
  t.deepEqual(parseClientHello(Buffer.from([22])), { kind: 'need-more' });
  t.deepEqual(parseClientHello(Buffer.from([22, 3, 1, 0x02])), { kind: 'need-more' });
  t.is(parseClientHello(Buffer.from([22, 2])).kind, 'not-tls', 'version 2.x');
  t.is(parseClientHello(Buffer.from([21, 3, 3, 0, 2, 2, 40])).kind, 'not-tls', 'an alert record');
});

test('a truncated ClientHello is need-more, a ServerHello is not-tls as soon as its type byte shows', (t) => {
  const wire = records(handshake(sniExt('t.example')));
  t.deepEqual(parseClientHello(wire.subarray(0, 60)), { kind: 'need-more' });
  const serverHello = Buffer.from(wire);
  serverHello[5] = 2;
  t.is(parseClientHello(serverHello.subarray(0, 6)).kind, 'not-tls');
});

test('lengths that contradict each other make a complete record not-tls (malformed)', (t) => {
  const badSni = ext(0, Buffer.concat([u16(50), Buffer.from([0]), vec16(Buffer.from('short'))])); // list claims 50 bytes
  const r = parseClientHello(records(handshake(badSni)));
  t.is(r.kind, 'not-tls');
  t.regex((r as { reason?: string }).reason ?? '', /malformed/);
  t.is(parseClientHello(records(handshake(Buffer.concat([alpnExt(['h2']), alpnExt(['h2'])])))).kind, 'not-tls', 'duplicate extension');
  t.is(parseClientHello(records(handshake(ext(16, vec16(Buffer.from([0])))))).kind, 'not-tls', 'empty ALPN name');
});

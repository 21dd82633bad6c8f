// The http probe (curl) against node http and https servers on 127.0.0.1 and raw TCP servers that misbehave.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHttpProbe } from '../../harness/probes/http.ts';
import { closers, listenOn, listenTcp, closedPort, handler, seenPorts, seenMethods, httpSpec } from '../helpers/probePeers.ts';

const tempDirs: string[] = [];

let httpPort = 0;
let httpsPort = 0;
let caFile = '';

function makeCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-cert-'));
  tempDirs.push(dir);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-days',
      '2',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  caFile = join(dir, 'cert.pem');
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(caFile) };
}

test.before(async () => {
  httpPort = await listenOn(http.createServer(handler));
  httpsPort = await listenOn(https.createServer(makeCert(), handler));
});

test.after.always(() => {
  for (const close of closers) close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

test('http: 200 with a custom header: status, headers, body, request headers and method went out, localPort is the real one', async (t) => {
  const r = await runHttpProbe(
    httpSpec(`http://127.0.0.1:${httpPort}/`, { method: 'PUT', headers: { 'X-Probe': 'abc', 'X-Req': 'ok200' } }),
  );
  t.is(r.kind, 'http');
  t.is(r.target, `127.0.0.1:${httpPort}`);
  t.is(r.exitCode, 0);
  t.is(r.httpStatus, 200);
  t.is(r.headers?.['x-lab'], 'egress');
  t.is(r.headers?.['x-echo'], 'abc');
  t.is(r.headers?.['content-type'], 'text/plain');
  t.is(r.body, 'hello PUT');
  t.is(seenMethods.get('ok200'), 'PUT');
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
  t.is(r.errorClass, 'none');
  t.is(r.curlError, undefined);
  t.is(r.error, undefined);
  t.is(r.address, '127.0.0.1');
  t.is(r.localPort, seenPorts.get('ok200'));
  t.true(r.receivedBytes > Buffer.byteLength('hello PUT'));
});

test('http: 504 is a completed exchange: exit 0, httpStatus 504, body kept', async (t) => {
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${httpPort}/504`));
  t.is(r.exitCode, 0);
  t.is(r.httpStatus, 504);
  t.is(r.body, 'upstream request timeout');
  t.is(r.errorClass, 'none');
  t.is(r.end, 'eof');
});

test('http: no answer within max-time -> curl 28 after connecting: connect ok, end idle, no status', async (t) => {
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${httpPort}/slow`, { timeoutMs: 800, headers: { 'X-Req': 'slow' } }));
  t.is(r.exitCode, 28);
  t.is(r.errorClass, 'curl-28');
  t.is(r.connect, 'ok');
  t.is(r.end, 'idle');
  t.is(r.httpStatus, undefined);
  t.is(r.headers, undefined);
  t.regex(r.curlError ?? '', /^curl: \(28\) Operation timed out after 8\d\d milliseconds with 0 bytes received$/);
  t.is(r.localPort, seenPorts.get('slow'));
  t.true(r.durationMs >= 790 && r.durationMs < 1500, `durationMs ${r.durationMs}`);
});

test('http: accept, read the request, close without answering -> curl 52, eof', async (t) => {
  const port = await listenTcp((s) => s.once('data', () => s.end()));
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${port}/`));
  t.is(r.exitCode, 52);
  t.is(r.errorClass, 'curl-52');
  t.is(r.curlError, 'curl: (52) Empty reply from server');
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
  t.is(r.httpStatus, undefined);
  t.is(r.receivedBytes, 0);
  t.true((r.localPort ?? 0) > 0);
});

test('http: RST after the request -> curl 56, end reset', async (t) => {
  const port = await listenTcp((s) => s.once('data', () => s.resetAndDestroy()));
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${port}/`));
  t.is(r.exitCode, 56);
  t.is(r.curlError, 'curl: (56) Recv failure: Connection reset by peer');
  t.is(r.connect, 'ok');
  t.is(r.end, 'reset');
});

test('http: closed port -> curl 7, refused (from the verbose connect line), not connected, no local port', async (t) => {
  const port = await closedPort();
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${port}/`));
  t.is(r.exitCode, 7);
  t.is(r.errorClass, 'curl-7');
  t.is(r.connect, 'refused');
  t.is(r.end, 'not-connected');
  t.is(r.localPort, undefined);
  t.regex(
    r.curlError ?? '',
    new RegExp(`^curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Couldn't connect to server$`),
  );
  t.regex(r.error ?? '', /failed: Connection refused\)$/, JSON.stringify(r));
});

test('http: headers of the LAST response block (1xx first), last duplicate wins, lower-cased', async (t) => {
  const reply =
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nX-Dup: first\r\nX-Dup: second\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';
  const port = await listenTcp((s) => s.once('data', () => s.end(reply)));
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${port}/`));
  t.is(r.exitCode, 0);
  t.is(r.httpStatus, 200);
  t.deepEqual(r.headers, { 'x-dup': 'second', 'content-length': '2', connection: 'close' });
  t.is(r.body, 'ok');
  t.is(r.receivedBytes, Buffer.byteLength(reply));
});

test('http: body is cut at 4 KiB', async (t) => {
  const big = 'x'.repeat(10_000);
  const port = await listenTcp((s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n${big}`)));
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${port}/`));
  t.is(r.body?.length, 4096);
  t.true(r.receivedBytes > 10_000);
});

test('https: --cacert and the name in the SAN -> exit 0', async (t) => {
  const r = await runHttpProbe(httpSpec(`https://localhost:${httpsPort}/`, { caFile }));
  t.is(r.exitCode, 0, r.error);
  t.is(r.httpStatus, 200);
  t.is(r.body, 'hello GET');
  t.is(r.target, `localhost:${httpsPort}`);
  t.is(r.connect, 'ok');
});

test('https: same CA, but by IP -> curl 60 name mismatch after connecting', async (t) => {
  const r = await runHttpProbe(httpSpec(`https://127.0.0.1:${httpsPort}/`, { caFile }));
  t.is(r.exitCode, 60);
  t.is(r.errorClass, 'curl-60');
  t.is(r.curlError, "curl: (60) SSL: no alternative certificate subject name matches target host name '127.0.0.1'");
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
  t.is(r.httpStatus, undefined);
});

test('https: without --cacert the self-signed cert fails verification -> curl 60', async (t) => {
  const r = await runHttpProbe(httpSpec(`https://localhost:${httpsPort}/`));
  t.is(r.exitCode, 60);
  t.regex(r.curlError ?? '', /self-signed certificate/);
});

test('http: head -> HEAD on the wire, headers, empty body', async (t) => {
  const r = await runHttpProbe(httpSpec(`http://127.0.0.1:${httpPort}/`, { method: 'HEAD', head: true, headers: { 'X-Req': 'head' } }));
  t.is(r.exitCode, 0);
  t.is(seenMethods.get('head'), 'HEAD');
  t.is(r.httpStatus, 200);
  t.is(r.headers?.['x-lab'], 'egress');
  t.is(r.body, '');
});

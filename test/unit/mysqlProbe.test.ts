// HTTP (curl) and MySQL (mysql2) probes against real servers on 127.0.0.1: node http/https servers,
// raw TCP servers that misbehave, and a throwaway mariadbd. No namespaces, no sidecar.
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { interpret, runHttpProbe } from '../../harness/probes/http.ts';
import { runMysqlProbe } from '../../harness/probes/mysql.ts';
import type { AgentResponse } from '../../harness/probes/wire.ts';
import type { HttpProbeSpec } from '../../harness/probes/http.ts';
import type { MysqlProbeSpec } from '../../harness/probes/mysql.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const closers: Array<() => void> = [];
const tempDirs: string[] = [];
let mariadb: ChildProcess | undefined;
let mariadbPort = 0;
let httpPort = 0;
let httpsPort = 0;
let caFile = '';
/** remote ports the http server saw, per request id (x-req header): proves the probe's localPort. */
const seenPorts = new Map<string, number>();
const seenMethods = new Map<string, string>();

async function listenOn(server: net.Server): Promise<number> {
  closers.push(() => {
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

const listenTcp = (onConnection: (socket: net.Socket) => void): Promise<number> =>
  listenOn(
    net.createServer((s) => {
      s.on('error', () => {});
      onConnection(s);
    }),
  );

async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const id = req.headers['x-req'];
  if (typeof id === 'string') {
    seenPorts.set(id, req.socket.remotePort ?? 0);
    seenMethods.set(id, req.method ?? '');
  }
  if (req.url === '/slow') return; // never answers: curl's --max-time ends it
  res.setHeader('x-lab', 'egress');
  res.setHeader('x-echo', String(req.headers['x-probe'] ?? ''));
  res.writeHead(req.url === '/504' ? 504 : 200, { 'content-type': 'text/plain' });
  res.end(req.url === '/504' ? 'upstream request timeout' : `hello ${req.method}`);
}

const httpSpec = (url: string, over: Partial<HttpProbeSpec> = {}): HttpProbeSpec => ({
  kind: 'http',
  url,
  method: 'GET',
  headers: {},
  timeoutMs: 3000,
  ...over,
});
const mysqlSpec = (port: number, over: Partial<MysqlProbeSpec> = {}): MysqlProbeSpec => ({
  kind: 'mysql',
  host: '127.0.0.1',
  port,
  user: 'root',
  timeoutMs: 3000,
  ...over,
});

async function startMariadb(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-mariadb-'));
  tempDirs.push(dir);
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'],
    { stdio: 'ignore' },
  );
  mariadbPort = await closedPort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${dir}/data`,
      '--bind-address=127.0.0.1',
      `--port=${mariadbPort}`,
      `--socket=${dir}/s.sock`,
      `--pid-file=${dir}/p.pid`,
      '--skip-name-resolve',
      '--skip-log-bin',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  mariadb = child;
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`mariadbd not ready after 30 s:\n${log}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready for connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mariadbd exited with ${code}:\n${log}`));
    });
  });
}

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
  await startMariadb();
});

test.after.always(async () => {
  for (const close of closers) close();
  if (mariadb && mariadb.exitCode === null && mariadb.signalCode === null) {
    const exited = once(mariadb, 'exit');
    mariadb.kill('SIGKILL');
    await exited;
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// ---- http ----

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

test('http: connect outcome from curl 7.88 verbose lines (both connect-failure forms), unreachable, timeout before connect', (t) => {
  const none = Buffer.alloc(0);
  const fail = (verbose: string, exit = 7) =>
    interpret(exit, '000 0.001 0 ', `*   Trying 127.0.0.1:80...\n${verbose}\ncurl: (${exit}) x\n`, none, none, 1);
  t.is(fail('* Immediate connect fail for 127.0.0.1: Connection refused').connect, 'refused');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: Connection refused').connect, 'refused');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: No route to host').connect, 'unreachable');
  t.is(fail('* Immediate connect fail for 127.0.0.1: Network is unreachable').connect, 'unreachable');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: Connection reset by peer').connect, 'error');
  t.is(fail('* Connection timed out after 800 milliseconds', 28).connect, 'timeout');
  const r = fail('* Immediate connect fail for 127.0.0.1: Connection refused');
  t.is(r.end, 'not-connected');
  t.is(r.errorClass, 'curl-7');
  t.is(r.error, 'curl: (7) x (Immediate connect fail for 127.0.0.1: Connection refused)');
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

// ---- mysql ----

test('mysql: root on mariadbd -> connected, SELECT 1, serverVersion from the greeting', async (t) => {
  const r = await runMysqlProbe(mysqlSpec(mariadbPort));
  t.is(r.kind, 'mysql');
  t.is(r.errorClass, 'none', r.error);
  t.is(r.reply, '1');
  t.is(r.connect, 'ok');
  t.is(r.end, 'idle');
  t.regex(r.serverVersion ?? '', /^5\.5\.5-\d+\.\d+\.\d+-MariaDB/);
  t.true((r.localPort ?? 0) > 0);
  t.true(r.receivedBytes > 0);
});

test('mysql: wrong user -> access-denied, greeting version still recorded, server closes (eof)', async (t) => {
  const r = await runMysqlProbe(mysqlSpec(mariadbPort, { user: 'nobody', password: 'wrong' }));
  t.is(r.errorClass, 'access-denied');
  t.regex(r.error ?? '', /^ER_ACCESS_DENIED_ERROR: Access denied for user 'nobody'@'127\.0\.0\.1'/);
  t.regex(r.serverVersion ?? '', /MariaDB/);
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
});

test('mysql: peer accepts and never speaks -> timeout after ~timeoutMs, connect ok, localPort is the real one', async (t) => {
  let peerPort = 0;
  const port = await listenTcp((s) => {
    peerPort = s.remotePort ?? -1;
  });
  const r = await runMysqlProbe(mysqlSpec(port, { timeoutMs: 800 }));
  t.is(r.errorClass, 'timeout');
  t.is(r.connect, 'ok');
  t.is(r.end, 'idle');
  t.is(r.localPort, peerPort);
  t.is(r.serverVersion, undefined);
  t.is(r.receivedBytes, 0);
  t.regex(r.error ?? '', /^connected, but no server greeting within 800ms \(mysql2: connect ETIMEDOUT\)$/);
  t.true(r.durationMs >= 790 && r.durationMs < 1500, `durationMs ${r.durationMs}`);
});

test('mysql: peer accepts and closes at once -> closed (mysql2 PROTOCOL_CONNECTION_LOST), eof', async (t) => {
  const port = await listenTcp((s) => s.end());
  const r = await runMysqlProbe(mysqlSpec(port));
  t.is(r.errorClass, 'closed');
  t.is(r.error, 'PROTOCOL_CONNECTION_LOST: Connection lost: The server closed the connection.');
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
  t.is(r.receivedBytes, 0);
});

test('mysql: an HTTP 400 instead of a greeting (legacy sidecar) -> protocol, with the bytes in the error', async (t) => {
  const port = await listenTcp((s) => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
  const r = await runMysqlProbe(mysqlSpec(port));
  t.is(r.errorClass, 'protocol');
  t.regex(r.error ?? '', /^not a MySQL greeting: "HTTP\/1\.1 400 Bad Request\\r\\n.*; mysql2: PROTOCOL_CONNECTION_LOST/);
  t.is(r.connect, 'ok');
  t.is(r.serverVersion, undefined);
});

test('mysql: an error packet instead of a greeting -> server-error', async (t) => {
  const msg = Buffer.from("Host '10.1.2.3' is not allowed to connect to this MariaDB server");
  const payload = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), msg]); // 1130 ER_HOST_NOT_PRIVILEGED
  const port = await listenTcp((s) => s.end(Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload])));
  const r = await runMysqlProbe(mysqlSpec(port));
  t.is(r.errorClass, 'server-error');
  t.regex(r.error ?? '', /^ER_HOST_NOT_PRIVILEGED: Host '10\.1\.2\.3' is not allowed/);
});

test('mysql: closed port -> refused, not connected', async (t) => {
  const r = await runMysqlProbe(mysqlSpec(await closedPort()));
  t.is(r.errorClass, 'refused');
  t.is(r.connect, 'refused');
  t.is(r.end, 'not-connected');
  t.is(r.localPort, undefined);
});

// ---- agent ----

test('agent process: http probe answered in order; a non-http URL is rejected by validation', async (t) => {
  const agent = spawn(process.execPath, ['--import', 'tsx', 'harness/probes/agent.ts'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: agent.stdout! })[Symbol.asyncIterator]();
    t.deepEqual(JSON.parse((await lines.next()).value as string), { ready: true });
    const probe = httpSpec(`http://127.0.0.1:${httpPort}/`, { headers: { 'X-Probe': 'via-agent', 'X-Req': 'agent' } });
    agent.stdin!.write(`${JSON.stringify({ id: 7, probe })}\n`);
    agent.stdin!.write(`${JSON.stringify({ id: 8, probe: { ...probe, url: 'file:///etc/passwd' } })}\n`);
    const first = JSON.parse((await lines.next()).value as string) as AgentResponse;
    const second = JSON.parse((await lines.next()).value as string) as AgentResponse;
    if (!('result' in first)) return t.fail(`agent error: ${first.error}`);
    t.is(first.id, 7);
    t.is(first.result.httpStatus, 200);
    t.is(first.result.headers?.['x-echo'], 'via-agent');
    t.is(first.result.localPort, seenPorts.get('agent'));
    t.is(second.id, 8);
    t.true('error' in second && second.error.startsWith('bad request:') && second.error.includes('http:// or https://'));
  } finally {
    agent.stdin!.end();
    if (agent.exitCode === null) await once(agent, 'exit');
  }
});

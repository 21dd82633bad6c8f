// The mysql probe (mysql2) against in-process peers on 127.0.0.1 that misbehave: silence, a close, an HTTP 400, an error packet.
import test from 'ava';
import { runMysqlProbe } from '../../harness/probes/mysql.ts';
import { closers, listenTcp, closedPort, mysqlSpec } from '../helpers/probePeers.ts';

test.after.always(() => {
  for (const close of closers) close();
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

// The tcp probe against in-process peers on 127.0.0.1: no namespaces, no sidecar, but the same client code paths.
import test from 'ava';
import { runTcpProbe } from '../../harness/probes/tcp.ts';
import { servers, listen, closedPort, onFirstData, tcp } from '../helpers/probePeers.ts';

test.after.always(() => {
  for (const server of servers) server.close();
});

test('tcp: answer then FIN -> eof with the exact bytes', async (t) => {
  const reply = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n\xff';
  const port = await listen((s) => onFirstData(s, () => s.end(Buffer.from(reply, 'latin1'))));
  const r = await runTcpProbe(tcp(port));
  t.is(r.connect, 'ok');
  t.is(r.address, '127.0.0.1');
  t.is(r.target, `127.0.0.1:${port}`);
  t.is(r.received, reply);
  t.is(r.receivedBytes, Buffer.byteLength(reply, 'latin1'));
  t.is(r.end, 'eof');
  t.is(r.errorClass, 'eof');
  t.is(r.localAddress, '127.0.0.1');
  t.true(typeof r.localPort === 'number' && r.localPort > 0);
});

test('tcp: answer and stay open -> idle, no half-close before the read timeout', async (t) => {
  let firstDataAt = 0;
  let clientFinAt = 0;
  const port = await listen((s) => {
    onFirstData(s, () => {
      firstDataAt = Date.now();
      s.write('+PONG\r\n');
    });
    s.on('end', () => {
      clientFinAt = Date.now();
      s.end();
    });
  });
  const r = await runTcpProbe(tcp(port, { readTimeoutMs: 300 }));
  t.is(r.received, '+PONG\r\n');
  t.is(r.end, 'idle');
  t.is(r.errorClass, 'none');
  t.true(r.durationMs >= 290, `durationMs ${r.durationMs}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.true(clientFinAt - firstDataAt >= 250, 'client kept its write side open until it gave up');
});

test('tcp: silent server -> idle with errorClass timeout', async (t) => {
  const port = await listen((s) => {
    s.on('error', () => {});
  });
  const r = await runTcpProbe(tcp(port, { readTimeoutMs: 150 }));
  t.is(r.connect, 'ok');
  t.is(r.end, 'idle');
  t.is(r.receivedBytes, 0);
  t.is(r.errorClass, 'timeout');
});

test('tcp: RST -> reset', async (t) => {
  const port = await listen((s) => onFirstData(s, () => s.resetAndDestroy()));
  const r = await runTcpProbe(tcp(port));
  t.is(r.connect, 'ok');
  t.is(r.end, 'reset');
  t.is(r.errorClass, 'reset');
  t.regex(r.error ?? '', /ECONNRESET|EPIPE/);
});

test('tcp: closed port -> refused', async (t) => {
  const r = await runTcpProbe(tcp(await closedPort()));
  t.is(r.connect, 'refused');
  t.is(r.end, 'not-connected');
  t.is(r.errorClass, 'refused');
  t.is(r.localPort, undefined);
  t.regex(r.error ?? '', /ECONNREFUSED/);
});

test('tcp: accept then close with zero bytes -> eof, nothing received', async (t) => {
  const port = await listen((s) => {
    s.on('error', () => {});
    s.end();
  });
  const r = await runTcpProbe(tcp(port));
  t.is(r.connect, 'ok');
  t.is(r.received, '');
  t.is(r.receivedBytes, 0);
  t.is(r.end, 'eof');
  t.is(r.errorClass, 'eof');
});

test('tcp: unresolvable name -> error, not connected', async (t) => {
  const r = await runTcpProbe(tcp(1, { host: 'no-such-host.invalid' }));
  t.is(r.connect, 'error');
  t.is(r.end, 'not-connected');
  t.is(r.errorClass, 'error');
  t.is(r.address, undefined);
});

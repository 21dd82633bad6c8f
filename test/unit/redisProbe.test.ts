// The redis probe against in-process peers on 127.0.0.1 that misbehave: a proxy's HTTP 400, a close, a reset, silence.
import test from 'ava';
import { runRedisProbe } from '../../harness/probes/redis.ts';
import { servers, listen, closedPort, onFirstData, redis } from '../helpers/probePeers.ts';

test.after.always(() => {
  for (const server of servers) server.close();
});

test('redis: HTTP 400 from the proxy -> protocol', async (t) => {
  const http400 = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';
  const port = await listen((s) => onFirstData(s, () => s.end(http400)));
  const r = await runRedisProbe(redis(port));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'protocol');
  t.regex(r.error ?? '', /Unknown RESP type 72/);
  t.is(r.receivedBytes, http400.length);
  t.is(r.end, 'eof');
});

test('redis: closed port -> refused', async (t) => {
  const r = await runRedisProbe(redis(await closedPort()));
  t.is(r.connect, 'refused');
  t.is(r.errorClass, 'refused');
  t.is(r.end, 'not-connected');
});

test('redis: accepted then closed -> closed', async (t) => {
  const port = await listen((s) => {
    s.on('error', () => {});
    s.end();
  });
  const r = await runRedisProbe(redis(port));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'closed');
  t.is(r.end, 'eof');
});

test('redis: RST after the command -> reset', async (t) => {
  const port = await listen((s) => onFirstData(s, () => s.resetAndDestroy()));
  const r = await runRedisProbe(redis(port));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'reset');
  t.is(r.end, 'reset');
});

test('redis: server that never answers -> timeout', async (t) => {
  const port = await listen((s) => {
    s.on('error', () => {});
  });
  const r = await runRedisProbe(redis(port, { timeoutMs: 200 }));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'timeout');
  t.is(r.error, 'Command timed out');
});

// The redis probe against a real redis-server on 127.0.0.1 with a password.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { runTcpProbe } from '../../harness/probes/tcp.ts';
import { runRedisProbe } from '../../harness/probes/redis.ts';
import { servers, closedPort, tcp, redis } from '../helpers/probePeers.ts';

let redisServer: ChildProcess | undefined;
let redisPort = 0;

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const r = await runTcpProbe(tcp(port, { send: '', readTimeoutMs: 10, connectTimeoutMs: 200 }));
    if (r.connect === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listening on ${port} after ${deadlineMs}ms`);
}

test.before(async () => {
  redisPort = await closedPort();
  redisServer = spawn(
    '/usr/bin/redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--requirepass', 's3cret', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await waitForPort(redisPort, 5000);
});

test.after.always(() => {
  redisServer?.kill('SIGKILL');
  for (const server of servers) server.close();
});

test('redis: no password -> NOAUTH reply-error', async (t) => {
  const r = await runRedisProbe(redis(redisPort));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'reply-error');
  t.is(r.error, 'NOAUTH Authentication required.');
  t.is(r.received, '');
  t.true(r.receivedBytes > 0);
  t.true(typeof r.localPort === 'number' && r.localPort > 0);
  t.is(r.end, 'idle');
});

test('redis: PING with the password -> PONG', async (t) => {
  const r = await runRedisProbe(redis(redisPort, { password: 's3cret' }));
  t.is(r.connect, 'ok');
  t.is(r.errorClass, 'none');
  t.is(r.reply, 'PONG');
  t.is(r.error, undefined);
});

test('redis: wrong password -> WRONGPASS reply-error raised by the handshake', async (t) => {
  const r = await runRedisProbe(redis(redisPort, { password: 'nope' }));
  t.is(r.errorClass, 'reply-error');
  t.regex(r.error ?? '', /^WRONGPASS/);
});

test('redis: array reply is rendered as JSON', async (t) => {
  const r = await runRedisProbe(redis(redisPort, { password: 's3cret', command: ['CONFIG', 'GET', 'appendonly'] }));
  t.is(r.reply, '["appendonly","no"]');
});

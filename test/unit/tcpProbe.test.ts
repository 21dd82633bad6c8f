// Probes against real sockets on 127.0.0.1: no namespaces, no sidecar, but the same client code paths.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { runTcpProbe } from '../../harness/probes/tcp.ts';
import { runRedisProbe } from '../../harness/probes/redis.ts';
import type { TcpProbeSpec } from '../../harness/probes/tcp.ts';
import type { RedisProbeSpec } from '../../harness/probes/redis.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const servers: net.Server[] = [];
let redisServer: ChildProcess | undefined;
let redisPort = 0;

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A port that was free a moment ago and now has no listener: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replies to the first bytes the client sends, so the test also proves `send` went out. */
function onFirstData(socket: net.Socket, reply: (socket: net.Socket) => void): void {
  socket.once('data', () => reply(socket));
  socket.on('error', () => {});
}

const tcp = (port: number, over: Partial<TcpProbeSpec> = {}): TcpProbeSpec => ({
  kind: 'tcp',
  host: '127.0.0.1',
  port,
  send: 'PING\r\n',
  readTimeoutMs: 300,
  connectTimeoutMs: 1000,
  ...over,
});
const redis = (port: number, over: Partial<RedisProbeSpec> = {}): RedisProbeSpec => ({
  kind: 'redis',
  host: '127.0.0.1',
  port,
  command: ['PING'],
  timeoutMs: 1000,
  ...over,
});

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

/** Spawn the agent like the lab does (minus netns/setpriv) and talk JSON lines to it. */
function startAgent(): { child: ChildProcess; next: () => Promise<unknown>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/probes/agent.ts'], { cwd: repoRoot, stdio: 'pipe' });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`agent stdout closed; stderr: ${err}`);
    return JSON.parse(value as string);
  };
  return { child, next, stderr: () => err };
}

test('agent: ready line, a tcp probe, bad requests, exit on stdin close', async (t) => {
  const port = await listen((s) => onFirstData(s, () => s.end('bye\n')));
  const refused = await closedPort();
  const agent = startAgent();
  t.teardown(() => {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
  });
  const write = (line: string): void => {
    agent.child.stdin!.write(`${line}\n`);
  };

  t.deepEqual(await agent.next(), { ready: true });
  write(JSON.stringify({ id: 1, probe: tcp(port) }));
  const first = (await agent.next()) as { id: number; result: { received: string; end: string; localPort: number } };
  t.is(first.id, 1);
  t.is(first.result.received, 'bye\n');
  t.is(first.result.end, 'eof');
  t.true(first.result.localPort > 0);

  write('not json');
  t.like(await agent.next(), { id: -1 });
  write(JSON.stringify({ id: 2, probe: { kind: 'udp', host: 'x', port: 1 } }));
  const bad = (await agent.next()) as { id: number; error: string };
  t.is(bad.id, 2);
  t.regex(bad.error, /bad request/);
  // A failing redis probe must not leak ioredis' "Unhandled error event" noise.
  write(JSON.stringify({ id: 3, probe: redis(refused) }));
  t.like(await agent.next(), { id: 3, result: { errorClass: 'refused' } });

  agent.child.stdin!.end();
  const [code] = await once(agent.child, 'exit');
  t.is(code, 0);
  t.is(agent.stderr(), '');
});

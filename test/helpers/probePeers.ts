/**
 * In-process peers for the probe tests on 127.0.0.1: TCP servers that answer, stay silent, reset or
 * close, a port nothing listens on, an HTTP server that records what it saw, and probe specs.
 * Each test file closes what it opened (`servers`, `closers`) in its own after hook.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { TcpProbeSpec } from '../../harness/probes/tcp.ts';
import type { RedisProbeSpec } from '../../harness/probes/redis.ts';
import http from 'node:http';
import type { HttpProbeSpec } from '../../harness/probes/http.ts';
import type { MysqlProbeSpec } from '../../harness/probes/mysql.ts';

export const servers: net.Server[] = [];

export async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A port that was free a moment ago and now has no listener: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replies to the first bytes the client sends, so the test also proves `send` went out. */
export function onFirstData(socket: net.Socket, reply: (socket: net.Socket) => void): void {
  socket.once('data', () => reply(socket));
  socket.on('error', () => {});
}

export const tcp = (port: number, over: Partial<TcpProbeSpec> = {}): TcpProbeSpec => ({
  kind: 'tcp',
  host: '127.0.0.1',
  port,
  send: 'PING\r\n',
  readTimeoutMs: 300,
  connectTimeoutMs: 1000,
  ...over,
});
export const redis = (port: number, over: Partial<RedisProbeSpec> = {}): RedisProbeSpec => ({
  kind: 'redis',
  host: '127.0.0.1',
  port,
  command: ['PING'],
  timeoutMs: 1000,
  ...over,
});

export const closers: Array<() => void> = [];

/** remote ports the http server saw, per request id (x-req header): proves the probe's localPort. */
export const seenPorts = new Map<string, number>();
export const seenMethods = new Map<string, string>();

export async function listenOn(server: net.Server): Promise<number> {
  closers.push(() => {
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

export const listenTcp = (onConnection: (socket: net.Socket) => void): Promise<number> =>
  listenOn(
    net.createServer((s) => {
      s.on('error', () => {});
      onConnection(s);
    }),
  );

export function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
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

export const httpSpec = (url: string, over: Partial<HttpProbeSpec> = {}): HttpProbeSpec => ({
  kind: 'http',
  url,
  method: 'GET',
  headers: {},
  timeoutMs: 3000,
  ...over,
});
export const mysqlSpec = (port: number, over: Partial<MysqlProbeSpec> = {}): MysqlProbeSpec => ({
  kind: 'mysql',
  host: '127.0.0.1',
  port,
  user: 'root',
  timeoutMs: 3000,
  ...over,
});

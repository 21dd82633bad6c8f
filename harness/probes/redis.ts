// Redis probe: one command through ioredis, recording what the application would have seen.
//
// errorClass mapping (first match wins):
//   ECONNREFUSED -> refused; EHOSTUNREACH/ENETUNREACH -> unreachable; ETIMEDOUT or "Command timed out" -> timeout
//   ECONNRESET/EPIPE -> reset; a ReplyError ("NOAUTH ...", "WRONGPASS ...") -> reply-error
//   undecodable bytes (e.g. "HTTP/1.1 400": ioredis 6 says 'Unknown RESP type 72 "H"') -> protocol
//   "Connection is closed." / "Stream isn't writeable ..." -> closed; anything else -> error
// ioredis often rejects with a generic "Connection is closed." while the real cause only went to the
// 'error' event, so the most specific of the rejection and the emitted errors is reported.
import type { Socket } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import { connectOutcomeOf, elapsedMs, errorMessage, resolveHost } from './tcp.ts';
import { z } from 'zod';
import type { ConnectOutcome, EndKind, ProbeResult } from './result.ts';
import { port, quoted, type ProbeType } from './probeType.ts';
import { parseSocatLog, resp, socatScript, type ShellOutput } from './shell.ts';
import type { TypeResultBase } from './probeType.ts';

/** What the probe agent is sent for a redis probe. */
export interface RedisProbeSpec {
  kind: 'redis';
  host: string;
  port: number;
  command: string[];
  password?: string;
  timeoutMs: number;
}

/** What we saw of the one connection ioredis made. */
interface Watch {
  errors: unknown[];
  stream?: Socket;
  localAddress?: string;
  localPort?: number;
  peerEnded: boolean;
  peerReset: boolean;
}

type Exchange = { reply: unknown } | { err: unknown };

export async function runRedisProbe(spec: RedisProbeSpec): Promise<ProbeResult> {
  const startedAt = performance.now();
  const head = { kind: 'redis' as const, target: `${spec.host}:${spec.port}`, received: '' };
  let address: string;
  try {
    if (spec.command.length === 0) throw new Error('empty redis command');
    address = await resolveHost(spec.host);
  } catch (err) {
    return {
      ...head,
      connect: 'error',
      receivedBytes: 0,
      end: 'not-connected',
      errorClass: 'error',
      error: errorMessage(err),
      durationMs: elapsedMs(startedAt),
    };
  }
  // Loaded on use: the client library is the probe agent's, not the scenario loader's.
  const { Redis: RedisClient } = await import('ioredis');
  const client = new RedisClient(clientOptions(address, spec));
  const watch = watchClient(client);
  const exchange = await withDeadline(talk(client, spec), spec.timeoutMs * 2 + 1000);
  await settle(watch.stream, Math.min(spec.timeoutMs, 500));
  const result = describe(exchange, watch);
  client.disconnect();
  return { ...head, address, ...result, durationMs: elapsedMs(startedAt) };
}

function clientOptions(address: string, spec: RedisProbeSpec): RedisOptions {
  return {
    host: address,
    port: spec.port,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: spec.timeoutMs,
    commandTimeout: spec.timeoutMs,
    // ioredis 6 defaults to RESP3: it would open with HELLO 3 (+ two CLIENT SETINFO), so an
    // unauthenticated probe would fail in the handshake instead of on the command, and the proxy
    // would see different first bytes. RESP2 without client info puts only [AUTH] + the command on the wire.
    protocol: 2,
    disableClientInfo: true,
    ...(spec.password === undefined ? {} : { password: spec.password }),
  };
}

function watchClient(client: Redis): Watch {
  const watch: Watch = { errors: [], peerEnded: false, peerReset: false };
  // Also keeps ioredis from printing "[ioredis] Unhandled error event".
  client.on('error', (err: unknown) => {
    watch.errors.push(err);
  });
  // 'connect' = TCP established (before AUTH); the socket exists and has its ephemeral port.
  client.once('connect', () => {
    const stream = client.stream;
    watch.stream = stream;
    watch.localAddress = stream.localAddress;
    watch.localPort = stream.localPort;
    stream.once('end', () => {
      watch.peerEnded = true;
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') watch.peerReset = true;
    });
  });
  return watch;
}

async function talk(client: Redis, spec: RedisProbeSpec): Promise<Exchange> {
  try {
    await client.connect();
    const [name, ...args] = spec.command as [string, ...string[]];
    return { reply: await client.call(name, ...args) };
  } catch (err) {
    return { err };
  }
}

/**
 * Let a FIN/RST that arrived with the last bytes be processed before judging how the connection ended.
 * If ioredis already shut its side (fatal protocol/auth error), wait briefly for the socket to close so
 * the peer's FIN or RST is seen: "eof" then may be the peer answering ioredis' own FIN.
 */
async function settle(stream: Socket | undefined, graceMs: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (!stream || stream.closed || !stream.writableEnded) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Backstop in case ioredis never settles; its own timeouts should always fire first. */
async function withDeadline(work: Promise<Exchange>, ms: number): Promise<Exchange> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Exchange>((resolve) => {
    timer = setTimeout(() => resolve({ err: new Error(`probe deadline of ${ms}ms exceeded`) }), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(exchange: Exchange, watch: Watch): Omit<ProbeResult, 'kind' | 'target' | 'address' | 'received' | 'durationMs'> {
  const conn = {
    localAddress: watch.localAddress,
    localPort: watch.localPort,
    receivedBytes: watch.stream?.bytesRead ?? 0,
    end: endKind(watch),
  };
  if ('reply' in exchange) return { ...conn, connect: 'ok', errorClass: 'none', reply: render(exchange.reply) };
  const err = mostSpecific(exchange.err, watch.errors);
  const errorClass = classify(err);
  return { ...conn, connect: connectOutcome(watch, err), errorClass, error: errorMessage(err) };
}

function endKind(watch: Watch): EndKind {
  if (!watch.stream) return 'not-connected';
  if (watch.peerReset) return 'reset';
  return watch.peerEnded ? 'eof' : 'idle';
}

function connectOutcome(watch: Watch, err: unknown): ConnectOutcome {
  if (watch.stream) return 'ok';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined && /deadline/.test(errorMessage(err))) return 'timeout';
  return connectOutcomeOf(code);
}

function mostSpecific(rejection: unknown, emitted: unknown[]): unknown {
  const generic = (e: unknown): boolean => ['closed', 'error'].includes(classify(e));
  if (!generic(rejection)) return rejection;
  return emitted.find((e) => !generic(e)) ?? rejection;
}

export function classify(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  const name = err instanceof Error ? err.name : '';
  const message = errorMessage(err);
  if (name === 'ReplyError') return 'reply-error';
  if (name === 'ParserError' || /^(Unknown RESP type|Protocol error)/.test(message)) return 'protocol';
  if (message === 'Command timed out' || /deadline/.test(message)) return 'timeout';
  if (message === 'Connection is closed.' || message.startsWith("Stream isn't writeable")) return 'closed';
  return 'error';
}

/** redis-cli-like text: strings verbatim, nil as (nil), arrays as JSON of their rendered items. */
function render(reply: unknown): string {
  if (reply === null || reply === undefined) return '(nil)';
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return JSON.stringify(reply.map(render));
  if (typeof reply === 'object') return JSON.stringify(reply);
  if (typeof reply === 'string') return reply;
  if (typeof reply === 'number' || typeof reply === 'bigint' || typeof reply === 'boolean') return String(reply);
  return typeof reply; // no Redis reply is a function or a symbol
}

// ---------------------------------------------------------------------------------------------
// The redis probe type: `redis: { host, port, command, password }` in a scenario.

export const redisBlock = z.strictObject({
  host: z.string().min(1),
  port,
  command: z.array(z.string()).min(1).default(['PING']),
  password: z.string().optional(),
  timeoutMs: z.number().int().min(50).max(60000).default(3000),
});
export type RedisBlock = z.infer<typeof redisBlock>;

const redisExpect = {
  /** The reply, or the error text, must contain this (e.g. NOAUTH). */
  replyContains: z.string().optional(),
};

export const redisProbe: ProbeType<'redis', RedisBlock, RedisProbeSpec, typeof redisExpect> = {
  kind: 'redis',
  schema: redisBlock,
  expect: redisExpect,
  clientChecks: (e, r) => {
    if (e.replyContains === undefined) return [];
    const text = r.reply ?? r.error ?? '';
    return [{ what: 'reply contains', expected: quoted(e.replyContains), seen: quoted(text), ok: text.includes(e.replyContains) }];
  },
  expectsFailure: () => false,
  errorClasses: ['none', 'refused', 'unreachable', 'timeout', 'reset', 'reply-error', 'protocol', 'closed', 'error'],
  spec: (b) => ({ kind: 'redis', ...b }),
  wire: z.object({
    kind: z.literal('redis'),
    host: z.string().min(1),
    port,
    command: z.array(z.string()).min(1),
    password: z.string().optional(),
    timeoutMs: z.number().int().positive(),
  }),
  describe: (b) => `redis ${b.host}:${b.port} ${b.command.join(' ')}`,
  // ioredis writes the RESP array header first.
  target: (b) => ({ host: b.host, port: b.port, sendsFirst: true, firstBytes: `*${b.command.length}\r\n` }),
  host: (b) => b.host,
  withHost: (b, map) => ({ ...b, host: map(b.host) }),
  resultTarget: (s) => `${s.host}:${s.port}`,
  budgetMs: (s) => s.timeoutMs * 2,
  run: runRedisProbe,
  // No redis-cli in the client image: RESP over socat, as redis-cli (and ioredis) would send it.
  kindScript: (s, sourcePort) => {
    const auth = s.password ? resp(['AUTH', s.password]) : '';
    return socatScript({
      host: s.host,
      port: s.port,
      send: auth + resp(s.command),
      idleMs: s.timeoutMs,
      connectMs: s.timeoutMs,
      sourcePort,
    });
  },
  parseKindOutput: (s, out, base) => fromSocat(s, out, base),
  shellLimits: {
    end: 'after a protocol or AUTH error ioredis closes the connection itself, so the peer then answers its FIN; socat never closes first',
  },
};

/** One RESP reply at the start of `text`: what it renders as and how long it is, or why it cannot be read. */
type RespReply = { value: string; error?: string; length: number } | { incomplete: true } | { protocol: string };

export function readResp(text: string, at = 0): RespReply {
  const eol = text.indexOf('\r\n', at);
  if (at >= text.length) return { incomplete: true };
  const type = text[at]!;
  if (!'+-:$*'.includes(type)) return { protocol: `Protocol error, got ${JSON.stringify(type)} as reply type byte` };
  if (eol < 0) return { incomplete: true };
  const line = text.slice(at + 1, eol);
  const next = eol + 2;
  if (type === '+' || type === ':') return { value: line, length: next - at };
  if (type === '-') return { value: '', error: line, length: next - at };
  const n = Number(line);
  if (!Number.isInteger(n)) return { protocol: `Protocol error, bad length ${JSON.stringify(line)}` };
  if (type === '$') {
    if (n < 0) return { value: '(nil)', length: next - at };
    if (text.length < next + n + 2) return { incomplete: true };
    return { value: text.slice(next, next + n), length: next + n + 2 - at };
  }
  if (n < 0) return { value: '(nil)', length: next - at };
  const items: string[] = [];
  let pos = next;
  for (let k = 0; k < n; k++) {
    const item = readResp(text, pos);
    if (!('length' in item)) return item;
    items.push(item.error ?? item.value);
    pos += item.length;
  }
  return { value: JSON.stringify(items), length: pos - at };
}

/**
 * What ioredis would have reported for the same bytes: the AUTH reply first when there is a
 * password, then the command's; an error reply is a reply-error, an unreadable first byte a
 * protocol error, and no (complete) reply is closed (eof), reset, or timeout (still open).
 */
function fromSocat(s: RedisProbeSpec, out: ShellOutput, base: TypeResultBase): ProbeResult {
  const session = parseSocatLog(out.sections.LOG ?? '');
  const at = session.address === undefined ? {} : { address: session.address };
  const data = out.sections.DATA ?? '';
  const head = { ...base, ...at, received: '', receivedBytes: data.length };
  if (session.connect !== 'ok') {
    return {
      ...head,
      connect: session.connect,
      end: 'not-connected',
      errorClass: session.connect,
      error: session.failure ?? 'not connected',
    };
  }
  const conn = { ...head, connect: 'ok' as const, localPort: out.localPort, end: session.end };
  let pos = 0;
  for (let k = 0; k < (s.password ? 2 : 1); k++) {
    const r = readResp(data, pos);
    if ('protocol' in r) return { ...conn, errorClass: 'protocol', error: r.protocol };
    if ('incomplete' in r) {
      const errorClass = session.end === 'idle' ? 'timeout' : session.end === 'reset' ? 'reset' : 'closed';
      return {
        ...conn,
        errorClass,
        error:
          errorClass === 'timeout' ? 'Command timed out' : errorClass === 'reset' ? (session.failure ?? 'reset') : 'Connection is closed.',
      };
    }
    if (r.error !== undefined) return { ...conn, errorClass: 'reply-error', error: r.error };
    if (k === (s.password ? 1 : 0)) return { ...conn, errorClass: 'none', reply: r.value };
    pos += r.length;
  }
  return { ...conn, errorClass: 'error', error: 'no reply' };
}

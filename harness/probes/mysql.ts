// MySQL probe: mysql2 connects (server greeting, handshake response, auth), runs SELECT 1, quits.
// We open the TCP socket ourselves and hand it to mysql2 (its `stream` option), so the ephemeral
// port is known as soon as TCP connects and the first bytes the server sends can be read as well.
//
// serverVersion: mysql2 hands the parsed greeting to its 'connect' event, but only when auth
// succeeded (it keeps it in the private `_handshakePacket`); when auth fails the version comes from
// our own reading of the first packet on the same socket. MariaDB greets with "5.5.5-<version>".
//
// errorClass (first match wins):
//   the server's first bytes are not a MySQL packet (not seq 0 with 0x0a greeting or 0xff error),
//   e.g. a sidecar's "HTTP/1.1 400"                -> protocol (whatever mysql2 then said: it reports
//                                                    PROTOCOL_CONNECTION_LOST if the peer closes, ETIMEDOUT if it stays open)
//   ER_ACCESS_DENIED_ERROR (1045)                  -> access-denied
//   PROTOCOL_CONNECTION_LOST (closed before or during the handshake) -> closed
//   ETIMEDOUT (mysql2's connectTimeout covers TCP connect AND greeting AND auth: a peer that
//   accepts and waits for the client to speak first ends here), PROTOCOL_SEQUENCE_TIMEOUT (query) -> timeout
//   ECONNREFUSED -> refused; ECONNRESET / EPIPE -> reset; EHOSTUNREACH / ENETUNREACH -> unreachable
//   PROTOCOL_* packet errors, RangeError from parsing garbage -> protocol
//   any other server error packet (ER_HOST_NOT_PRIVILEGED, ER_CON_COUNT_ERROR, ...) -> server-error
//   anything else -> error
// connect: ok once TCP connected, even if no greeting ever came; otherwise refused/unreachable/timeout/error.
// A RST in answer to the SYN-ACK surfaces in Node as "connect ECONNRESET" before 'connect': connect error, class reset.
// end (how the peer behaved until the outcome was known, plus a short grace for a FIN after an error):
//   reset = ECONNRESET/EPIPE, eof = FIN, idle = still open (success, or mysql2 gave up on a silent peer).
// received is ''; receivedBytes counts every byte read; error is "<code>: <message>" from mysql2.
import net from 'node:net';
import type { Connection } from 'mysql2';
import { z } from 'zod';
import { connectOutcomeOf, elapsedMs, errorMessage, resolveHost } from './tcp.ts';
import type { ConnectOutcome, EndKind, ProbeResult } from './result.ts';
import { port, quoted, type ProbeType } from './probeType.ts';
import { parseSocatLog, socatScript, type ShellOutput } from './shell.ts';
import type { TypeResultBase } from './probeType.ts';

/** What the probe agent is sent for a mysql probe. */
export interface MysqlProbeSpec {
  kind: 'mysql';
  host: string;
  port: number;
  user: string;
  password?: string;
  timeoutMs: number;
}

type Greeting =
  { kind: 'pending' } | { kind: 'greeting'; version: string } | { kind: 'error-packet' } | { kind: 'foreign'; preview: string };

/** What we saw of the one socket. */
interface Watch {
  socket: net.Socket;
  connected: boolean;
  localAddress?: string;
  localPort?: number;
  peerEnded: boolean;
  peerReset: boolean;
  greeting: Greeting;
  handshakeVersion?: string;
}

type Exchange = { reply: string } | { err: unknown };

const GREETING_SCAN_LIMIT = 4096;

export async function runMysqlProbe(spec: MysqlProbeSpec): Promise<ProbeResult> {
  const startedAt = performance.now();
  const head = { kind: 'mysql' as const, target: `${spec.host}:${spec.port}`, received: '' };
  let address: string;
  try {
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
  const { createConnection } = await import('mysql2');
  const watch = watchSocket(net.connect({ host: address, port: spec.port }));
  const conn = createConnection({
    stream: watch.socket,
    host: address,
    port: spec.port,
    user: spec.user,
    ...(spec.password === undefined ? {} : { password: spec.password }),
    connectTimeout: spec.timeoutMs,
  });
  // mysql2 also emits every fatal error on the connection: without a listener it would throw.
  conn.on('error', () => {});
  conn.once('connect', (handshake: { serverVersion?: unknown } | undefined) => {
    if (typeof handshake?.serverVersion === 'string') watch.handshakeVersion = handshake.serverVersion;
  });
  const exchange = await withDeadline(talk(conn, spec), spec.timeoutMs * 2 + 1000);
  const durationMs = elapsedMs(startedAt);
  if ('err' in exchange) await settle(watch.socket, Math.min(spec.timeoutMs, 200));
  const result = describe(exchange, watch, spec);
  await close(conn, watch.socket, 'reply' in exchange);
  return { ...head, address, ...result, durationMs };
}

function watchSocket(socket: net.Socket): Watch {
  const watch: Watch = { socket, connected: false, peerEnded: false, peerReset: false, greeting: { kind: 'pending' } };
  socket.setNoDelay(true); // as mysql2 does for sockets it opens itself
  socket.once('connect', () => {
    watch.connected = true;
    watch.localAddress = socket.localAddress;
    watch.localPort = socket.localPort;
  });
  let first = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    first = Buffer.concat([first, chunk]);
    watch.greeting = readGreeting(first);
    if (watch.greeting.kind !== 'pending' || first.length >= GREETING_SCAN_LIMIT) socket.off('data', onData);
  };
  socket.on('data', onData);
  socket.once('end', () => {
    watch.peerEnded = true;
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (watch.connected && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) watch.peerReset = true;
  });
  return watch;
}

/**
 * The server's first packet: 3-byte length, sequence 0, then 0x0a (protocol 10) and the NUL-terminated
 * version, or 0xff (an error packet instead of a greeting, e.g. "Host ... is not allowed to connect").
 */
export function readGreeting(bytes: Buffer): Greeting {
  if (bytes.length < 5) return { kind: 'pending' };
  const length = bytes.readUIntLE(0, 3);
  const foreign = { kind: 'foreign' as const, preview: JSON.stringify(bytes.subarray(0, 64).toString('latin1')) };
  if (bytes[3] !== 0 || length < 1 || length > 0xffff) return foreign;
  if (bytes[4] === 0xff) return { kind: 'error-packet' };
  if (bytes[4] !== 0x0a) return foreign;
  const payloadEnd = Math.min(bytes.length, 4 + length);
  const nul = bytes.indexOf(0, 5);
  if (nul !== -1 && nul < payloadEnd) return { kind: 'greeting', version: bytes.toString('utf8', 5, nul) };
  return bytes.length < 4 + length ? { kind: 'pending' } : foreign;
}

function talk(conn: Connection, spec: MysqlProbeSpec): Promise<Exchange> {
  return new Promise((resolve) => {
    conn.connect((err) => {
      if (err) {
        resolve({ err });
        return;
      }
      conn.query({ sql: 'SELECT 1', timeout: spec.timeoutMs, rowsAsArray: true }, (qerr, rows) => {
        if (qerr) {
          resolve({ err: qerr });
          return;
        }
        const first = (rows as unknown[][])[0]?.[0];
        resolve({ reply: String(first) });
      });
    });
  });
}

/** Backstop in case mysql2 never settles; its connectTimeout and query timeout should always fire first. */
async function withDeadline(work: Promise<Exchange>, ms: number): Promise<Exchange> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Exchange>((resolve) => {
    timer = setTimeout(() => resolve({ err: Object.assign(new Error(`probe deadline of ${ms}ms exceeded`), { code: 'DEADLINE' }) }), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** After a failure, give the peer a moment to show its FIN or RST (MariaDB closes right after an error packet). */
async function settle(socket: net.Socket, graceMs: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (socket.destroyed || socket.readableEnded) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('end', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, graceMs);
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** COM_QUIT after a success, like a well-behaved client; otherwise just drop the socket. */
async function close(conn: Connection, socket: net.Socket, graceful: boolean): Promise<void> {
  if (graceful) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        conn.destroy();
        resolve();
      }, 1000);
      conn.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  conn.destroy();
  socket.destroy();
}

function describe(
  exchange: Exchange,
  watch: Watch,
  spec: MysqlProbeSpec,
): Omit<ProbeResult, 'kind' | 'target' | 'address' | 'received' | 'durationMs'> {
  const version = watch.handshakeVersion ?? (watch.greeting.kind === 'greeting' ? watch.greeting.version : undefined);
  const conn = {
    ...(watch.localAddress === undefined ? {} : { localAddress: watch.localAddress }),
    ...(watch.localPort === undefined ? {} : { localPort: watch.localPort }),
    receivedBytes: watch.socket.bytesRead,
    end: endKind(watch),
    ...(version === undefined ? {} : { serverVersion: version }),
  };
  if ('reply' in exchange) return { ...conn, connect: 'ok', errorClass: 'none', reply: exchange.reply };
  const err = exchange.err as (Error & { code?: string; sqlState?: string }) | undefined;
  const errorClass = classify(err, watch.greeting);
  const message = errorMessage(err);
  const text = err?.code && !message.includes(err.code) ? `${err.code}: ${message}` : message;
  let error = text;
  if (watch.greeting.kind === 'foreign') error = `not a MySQL greeting: ${watch.greeting.preview}; mysql2: ${text}`;
  else if (errorClass === 'timeout' && watch.connected && err?.code === 'ETIMEDOUT') {
    // mysql2 says "connect ETIMEDOUT" although TCP did connect: say which step never finished.
    const step = watch.greeting.kind === 'pending' ? 'no server greeting' : 'no answer to the handshake';
    error = `connected, but ${step} within ${spec.timeoutMs}ms (mysql2: ${text})`;
  }
  return { ...conn, connect: connectOutcome(watch, err?.code), errorClass, error };
}

function endKind(watch: Watch): EndKind {
  if (!watch.connected) return 'not-connected';
  if (watch.peerReset) return 'reset';
  return watch.peerEnded ? 'eof' : 'idle';
}

function connectOutcome(watch: Watch, code: string | undefined): ConnectOutcome {
  if (watch.connected) return 'ok';
  if (code === 'DEADLINE') return 'timeout';
  return connectOutcomeOf(code);
}

export function classify(err: (Error & { code?: string; sqlState?: string }) | undefined, greeting: Greeting): string {
  if (greeting.kind === 'foreign') return 'protocol';
  const code = err?.code;
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
      return 'access-denied';
    case 'PROTOCOL_CONNECTION_LOST':
      return 'closed';
    case 'ETIMEDOUT':
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
    case 'DEADLINE':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      break;
  }
  if (code?.startsWith('PROTOCOL_') || err instanceof RangeError) return 'protocol';
  if (code?.startsWith('ER_') || typeof err?.sqlState === 'string') return 'server-error';
  return 'error';
}

// ---------------------------------------------------------------------------------------------
// The mysql probe type: `mysql: { host, port, user, password }` in a scenario.

export const mysqlBlock = z.strictObject({
  host: z.string().min(1),
  port: port.default(3306),
  user: z.string().default('lab'),
  password: z.string().optional(),
  timeoutMs: z.number().int().min(50).max(60000).default(5000),
});
export type MysqlBlock = z.infer<typeof mysqlBlock>;

const mysqlExpect = {
  /** The server greeting's version must contain this (MariaDB greets with "5.5.5-10.11…-MariaDB"). */
  serverVersionContains: z.string().optional(),
};

export const mysqlProbe: ProbeType<'mysql', MysqlBlock, MysqlProbeSpec, typeof mysqlExpect> = {
  kind: 'mysql',
  schema: mysqlBlock,
  expect: mysqlExpect,
  clientChecks: (e, r) =>
    e.serverVersionContains === undefined
      ? []
      : [
          {
            what: 'server version',
            expected: `contains ${quoted(e.serverVersionContains)}`,
            seen: quoted(r.serverVersion ?? 'no greeting'),
            ok: (r.serverVersion ?? '').includes(e.serverVersionContains),
          },
        ],
  expectsFailure: () => false,
  errorClasses: ['none', 'refused', 'unreachable', 'timeout', 'reset', 'access-denied', 'closed', 'protocol', 'server-error', 'error'],
  spec: (b) => ({ kind: 'mysql', ...b }),
  wire: z.object({
    kind: z.literal('mysql'),
    host: z.string().min(1),
    port,
    user: z.string(),
    password: z.string().optional(),
    timeoutMs: z.number().int().positive(),
  }),
  describe: (b) => `mysql -h ${b.host} -P ${b.port} -u ${b.user}`,
  // MySQL is server-first: the client waits for the greeting.
  target: (b) => ({ host: b.host, port: b.port, sendsFirst: false }),
  host: (b) => b.host,
  withHost: (b, map) => ({ ...b, host: map(b.host) }),
  resultTarget: (s) => `${s.host}:${s.port}`,
  budgetMs: (s) => s.timeoutMs * 2,
  run: runMysqlProbe,
  // No MySQL client in the image: socat reads the server greeting and sends nothing (no half-close,
  // so a peer that waits for the client to speak first is a hang, as for the application).
  kindScript: (s, sourcePort) =>
    socatScript({ host: s.host, port: s.port, send: '', idleMs: s.timeoutMs, connectMs: s.timeoutMs, sourcePort }),
  parseKindOutput: (s, out, base) => fromSocat(s, out, base),
  shellLimits: {
    errorClass:
      'without a MySQL client the kind probe reads the greeting only: "none" means a greeting came, never an authenticated SELECT 1 (access-denied cannot show)',
    reply: 'no SELECT 1 without a MySQL client',
    end: 'mysql2 quits after its query (the server then closes); the kind probe waits in silence until its idle timeout',
    receivedBytes: 'the lab client also reads the authentication and query replies',
  },
};

/** The greeting as mysql2 would have classified it, from socat's bytes and log. */
function fromSocat(s: MysqlProbeSpec, out: ShellOutput, base: TypeResultBase): ProbeResult {
  const session = parseSocatLog(out.sections.LOG ?? '');
  const at = session.address === undefined ? {} : { address: session.address };
  const data = Buffer.from(out.sections.DATA ?? '', 'latin1');
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
  const greeting = data.length === 0 ? ({ kind: 'pending' } as const) : readGreeting(data);
  if (greeting.kind === 'greeting') return { ...conn, serverVersion: greeting.version, errorClass: 'none' };
  if (greeting.kind === 'foreign') return { ...conn, errorClass: 'protocol', error: `not a MySQL greeting: ${greeting.preview}` };
  if (greeting.kind === 'error-packet') return { ...conn, errorClass: 'server-error', error: data.subarray(7).toString('latin1') };
  if (session.end === 'idle') return { ...conn, errorClass: 'timeout', error: `connected, but no server greeting within ${s.timeoutMs}ms` };
  return { ...conn, errorClass: session.end === 'reset' ? 'reset' : 'closed', error: session.failure ?? 'closed before the greeting' };
}

// Raw TCP probe: what `nc host port` would see from inside the pod.
//
// Outcome mapping (connect / end / errorClass):
//   lookup fails                 -> error       / not-connected / error
//   ECONNREFUSED                 -> refused     / not-connected / refused
//   EHOSTUNREACH, ENETUNREACH    -> unreachable / not-connected / unreachable
//   no SYN-ACK in connectTimeout -> timeout     / not-connected / timeout
//   other connect error          -> error       / not-connected / error
//   peer FIN                     -> ok / eof   / eof      (whatever was received before it is kept)
//   ECONNRESET, EPIPE            -> ok / reset / reset
//   other error after connect    -> ok / reset / timeout (ETIMEDOUT) | unreachable | error
//                                   ("reset" here means aborted without a FIN)
//   readTimeout with no new bytes-> ok / idle  / none if anything was received, else timeout
// The first terminal event wins: a RST that follows a FIN still reports eof.
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { z } from 'zod';
import type { ConnectOutcome, EndKind, ProbeResult } from './result.ts';
import { port, quoted, type ProbeType } from './probeType.ts';
import { parseSocatLog, socatScript, type ShellOutput } from './shell.ts';

/** What the probe agent is sent for a tcp probe. */
export interface TcpProbeSpec {
  kind: 'tcp';
  host: string;
  port: number;
  send: string;
  readTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Resolve like the client would: dns.lookup goes through getaddrinfo, so the per-netns /etc/hosts applies. */
export async function resolveHost(host: string): Promise<string> {
  if (net.isIP(host)) return host;
  const { address } = await lookup(host);
  return address;
}

/** Connect-phase errno -> outcome; shared with the redis probe. */
export function connectOutcomeOf(code: string | undefined): ConnectOutcome {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

type Session = Omit<ProbeResult, 'kind' | 'target' | 'address' | 'durationMs'>;

export async function runTcpProbe(spec: TcpProbeSpec): Promise<ProbeResult> {
  const startedAt = performance.now();
  const head = { kind: 'tcp' as const, target: `${spec.host}:${spec.port}` };
  let address: string;
  try {
    address = await resolveHost(spec.host);
  } catch (err) {
    return { ...head, ...notConnected('error', 'error', errorMessage(err)), durationMs: elapsedMs(startedAt) };
  }
  const session = await dial(address, spec);
  return { ...head, address, ...session, durationMs: elapsedMs(startedAt) };
}

function notConnected(connect: ConnectOutcome, errorClass: string, error: string): Session {
  return { connect, received: '', receivedBytes: 0, end: 'not-connected', errorClass, error };
}

/** Everything observed on one socket, filled in by its event handlers. */
interface Observed {
  connected: boolean;
  connectTimedOut: boolean;
  localAddress?: string;
  localPort?: number;
  chunks: Buffer[];
  end?: EndKind;
  failure?: NodeJS.ErrnoException;
}

function dial(address: string, spec: TcpProbeSpec): Promise<Session> {
  return new Promise((resolve) => {
    const seen: Observed = { connected: false, connectTimedOut: false, chunks: [] };
    const socket = net.connect({ host: address, port: spec.port });
    let idleTimer: NodeJS.Timeout | undefined;
    const connectTimer = setTimeout(() => {
      seen.connectTimedOut = true;
      socket.destroy();
    }, spec.connectTimeoutMs);
    // Idle = the peer neither sent more nor closed within readTimeoutMs; we then close our side like nc -w.
    const armIdle = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        seen.end ??= 'idle';
        socket.destroy();
      }, spec.readTimeoutMs);
    };
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      seen.connected = true;
      seen.localAddress = socket.localAddress;
      seen.localPort = socket.localPort;
      // No half-close after writing: nc keeps its write side open, and a FIN would change what the proxy does.
      if (spec.send !== '') socket.write(Buffer.from(spec.send, 'latin1'));
      armIdle();
    });
    socket.on('data', (chunk: Buffer) => {
      seen.chunks.push(chunk);
      armIdle();
    });
    socket.once('end', () => {
      seen.end ??= 'eof';
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      seen.failure ??= err;
      if (seen.connected) seen.end ??= 'reset';
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(idleTimer);
      resolve(summarise(seen, spec));
    });
  });
}

function summarise(seen: Observed, spec: TcpProbeSpec): Session {
  if (!seen.connected) {
    if (seen.connectTimedOut) return notConnected('timeout', 'timeout', `connect timed out after ${spec.connectTimeoutMs}ms`);
    const outcome = connectOutcomeOf(seen.failure?.code);
    return notConnected(outcome, outcome, seen.failure?.message ?? 'closed before connecting');
  }
  const data = Buffer.concat(seen.chunks);
  const end = seen.end ?? 'eof';
  const { errorClass, error } = endClass(end, data.length, seen.failure, spec);
  return {
    localAddress: seen.localAddress,
    localPort: seen.localPort,
    connect: 'ok',
    received: data.toString('latin1'),
    receivedBytes: data.length,
    end,
    errorClass,
    ...(error === undefined ? {} : { error }),
  };
}

/** A socat exchange (the kind script) read as the lab's raw client would have reported it. */
function fromSocat(spec: TcpProbeSpec, out: ShellOutput, base: Pick<ProbeResult, 'kind' | 'target' | 'durationMs'>): ProbeResult {
  const session = parseSocatLog(out.sections.LOG ?? '');
  const at = session.address === undefined ? {} : { address: session.address };
  if (session.connect !== 'ok') {
    return {
      ...base,
      ...at,
      ...notConnected(session.connect, session.connect === 'error' ? 'error' : session.connect, session.failure ?? 'not connected'),
    };
  }
  const data = out.sections.DATA ?? '';
  const failure = session.failure === undefined ? undefined : Object.assign(new Error(session.failure), { code: session.code });
  const { errorClass, error } = endClass(session.end, data.length, failure, spec);
  return {
    ...base,
    ...at,
    localPort: out.localPort,
    connect: 'ok',
    received: data,
    receivedBytes: data.length,
    end: session.end,
    errorClass,
    ...(error === undefined ? {} : { error }),
  };
}

function endClass(
  end: EndKind,
  bytes: number,
  failure: NodeJS.ErrnoException | undefined,
  spec: TcpProbeSpec,
): { errorClass: string; error?: string } {
  if (end === 'eof') return { errorClass: 'eof' };
  if (end === 'idle') {
    return bytes > 0 ? { errorClass: 'none' } : { errorClass: 'timeout', error: `nothing received within ${spec.readTimeoutMs}ms` };
  }
  return { errorClass: abortClass(failure?.code), error: failure?.message ?? 'connection aborted' };
}

function abortClass(code: string | undefined): string {
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  return 'error';
}

// ---------------------------------------------------------------------------------------------
// The tcp probe type: `tcp: { host, port, send }` in a scenario.

export const tcpBlock = z.strictObject({
  host: z.string().min(1),
  port,
  /** Bytes to send after connecting; YAML escapes like \r\n apply. */
  send: z.string().default(''),
  /** Stop reading after this long without a close. */
  readTimeoutMs: z.number().int().min(50).max(60000).default(1500),
  connectTimeoutMs: z.number().int().min(50).max(60000).default(3000),
});
export type TcpBlock = z.infer<typeof tcpBlock>;

/** An HTTP status line with a 4xx/5xx code, as a raw TCP client receives a sidecar's `HTTP/1.1 400`. */
const HTTP_ERROR_LINE = /^HTTP\/\d(?:\.\d)? [45]\d\d\b/;

const tcpExpect = {
  /** Exact bytes received (YAML double-quoted strings take \r\n escapes). */
  received: z.string().optional(),
  receivedContains: z.string().optional(),
  bytes: z.number().int().min(0).optional(),
};

export const tcpProbe: ProbeType<'tcp', TcpBlock, TcpProbeSpec, typeof tcpExpect> = {
  kind: 'tcp',
  schema: tcpBlock,
  expect: tcpExpect,
  clientChecks: (e, r) => [
    ...(e.received !== undefined
      ? [{ what: 'received', expected: quoted(e.received), seen: quoted(r.received), ok: r.received === e.received }]
      : []),
    ...(e.receivedContains !== undefined
      ? [
          {
            what: 'received contains',
            expected: quoted(e.receivedContains),
            seen: quoted(r.received),
            ok: r.received.includes(e.receivedContains),
          },
        ]
      : []),
    ...(e.bytes !== undefined
      ? [{ what: 'bytes received', expected: String(e.bytes), seen: String(r.receivedBytes), ok: r.receivedBytes === e.bytes }]
      : []),
  ],
  errorClasses: ['none', 'refused', 'unreachable', 'timeout', 'reset', 'eof', 'error'],
  // Zero bytes is the blackhole or the hang; a 4xx/5xx status line is seed 000's HTTP/1.1 400 on a Redis port.
  expectsFailure: (e) => e.bytes === 0 || (e.received !== undefined && (e.received.length === 0 || HTTP_ERROR_LINE.test(e.received))),
  spec: (b) => ({ kind: 'tcp', ...b }),
  wire: z.object({
    kind: z.literal('tcp'),
    host: z.string().min(1),
    port,
    send: z.string(),
    readTimeoutMs: z.number().int().positive(),
    connectTimeoutMs: z.number().int().positive(),
  }),
  describe: (b) => `tcp ${b.host}:${b.port}${b.send ? ` send ${JSON.stringify(b.send)}` : ''}`,
  target: (b) => ({ host: b.host, port: b.port, sendsFirst: b.send.length > 0, firstBytes: b.send }),
  host: (b) => b.host,
  withHost: (b, map) => ({ ...b, host: map(b.host) }),
  resultTarget: (s) => `${s.host}:${s.port}`,
  budgetMs: (s) => s.connectTimeoutMs + s.readTimeoutMs,
  run: runTcpProbe,
  // socat without a half-close, like the lab's raw client; -T is the idle timeout.
  kindScript: (s, sourcePort) =>
    socatScript({ host: s.host, port: s.port, send: s.send, idleMs: s.readTimeoutMs, connectMs: s.connectTimeoutMs, sourcePort }),
  parseKindOutput: (s, out, base) => fromSocat(s, out, base),
  shellLimits: {},
};

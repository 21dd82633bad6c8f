/**
 * The shell side of the kind probes: the scripts `kubectl exec` runs in the kind client container
 * (nicolaka/netshoot: sh, socat, curl, od), and their output read back. The same scripts run in
 * the netns lab's pod namespaces (Debian ships the same tools), so they are tested for real there.
 *
 * A script prints named sections, each a line `EGL-<NAME>` followed by its content (raw bytes as
 * `od -An -v -tx1` hex, so \r, \n and NULs survive), and ends with the trailer
 * `EGL <exit code> <local port> <bytes received>` (local port 0: never connected).
 */
import type { ConnectOutcome, EndKind } from './result.ts';

/** Single-quotes a value for sh. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export const TRAILER_LINE = /\nEGL (\d+) (\d+) (\d+)\n?$/;

/** A script's output, sections decoded. */
export interface ShellOutput {
  exitCode: number;
  localPort: number;
  /** Section name -> its text (hex sections already decoded to latin1 bytes). */
  sections: Record<string, string>;
}

/** A hex section: the file's bytes through od, so that nothing is lost in the shell round trip. */
export const hexSection = (name: string, file: string): string => `echo EGL-${name}; od -An -v -tx1 <${file}`;
/** A text section: the file verbatim (socat's log, curl's -w output). */
export const textSection = (name: string, file: string): string => `echo EGL-${name}; cat ${file}; echo`;

/** Names of the sections whose content is hex. */
const HEX_SECTIONS = new Set(['DATA', 'HEADERS', 'BODY', 'STDERR']);

/** `od -An -v -tx1` output back to the bytes. */
export function decodeHex(text: string): string {
  return Buffer.from(
    text
      .split(/\s+/)
      .filter((t) => /^[0-9a-f]{2}$/.test(t))
      .map((t) => parseInt(t, 16)),
  ).toString('latin1');
}

/** Reads a script's stdout; throws when the trailer is missing (the script never finished). */
export function parseShellOutput(stdout: string): ShellOutput {
  const m = TRAILER_LINE.exec(stdout);
  if (!m)
    throw new Error(
      `the probe script's output has no "EGL <exit> <port> <bytes>" trailer (it did not finish): ${JSON.stringify(stdout.slice(-300))}`,
    );
  const sections: Record<string, string> = {};
  const parts = stdout.slice(0, m.index).split(/^EGL-([A-Z]+)\n/m);
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    const text = parts[i + 1] ?? '';
    sections[name] = HEX_SECTIONS.has(name) ? decodeHex(text) : text.replace(/\n$/, '');
  }
  return { exitCode: Number(m[1]), localPort: Number(m[2]), sections };
}

export interface SocatOptions {
  host: string;
  port: number;
  /** Bytes to send once connected (latin1). */
  send: string;
  /** socat -T: the exchange ends after this long with no data either way. */
  idleMs: number;
  connectMs: number;
  /** The client's source port, chosen by the harness: socat does not log the port the kernel picks. */
  sourcePort: number | string;
}

/**
 * One TCP exchange, as the lab's raw client makes it: connect, send, then read until the peer
 * closes, resets, or stays silent for idleMs. `STDIO,ignoreeof` keeps socat from half-closing the
 * connection when its stdin ends (a FIN would change what a proxy or a MySQL server does), and
 * `-d -d` logs how the exchange ended (connect errors, "is at EOF", "Connection reset by peer",
 * "inactivity timeout triggered"), which parseSocatLog reads.
 */
export function socatScript(o: SocatOptions): string {
  const seconds = (ms: number) => String(ms / 1000);
  const target = `TCP:${o.host}:${o.port},connect-timeout=${seconds(o.connectMs)},sourceport=${o.sourcePort}`;
  return [
    'd=$(mktemp -d)',
    `printf %s ${q(o.send)} | socat -d -d -T ${seconds(o.idleMs)} STDIO,ignoreeof ${q(target)} >"$d/out" 2>"$d/log"; rc=$?`,
    hexSection('DATA', '"$d/out"'),
    textSection('LOG', '"$d/log"'),
    `port=0; grep -q 'starting data transfer loop' "$d/log" && port=${o.sourcePort}`,
    `printf 'EGL %d %d %d\\n' "$rc" "$port" "$(wc -c <"$d/out")"`,
    'rm -rf "$d"',
  ].join('; ');
}

/** How a socat exchange went, from its -d -d log. */
export interface SocatSession {
  connect: ConnectOutcome;
  /** The address socat dialled ("opening connection to AF=2 10.0.0.6:7001"). */
  address?: string;
  end: EndKind;
  /** The errno text of the failure that ended it (connect error, reset), if any. */
  failure?: string;
  /** Node's code for that failure, so the lab's classifications apply unchanged. */
  code?: string;
}

const CONNECT_ERRORS: Array<[RegExp, ConnectOutcome, string]> = [
  [/Connection refused/, 'refused', 'ECONNREFUSED'],
  [/No route to host/, 'unreachable', 'EHOSTUNREACH'],
  [/Network is unreachable/, 'unreachable', 'ENETUNREACH'],
  [/timed out/i, 'timeout', 'ETIMEDOUT'],
];

/**
 * The first terminal event wins, as in the lab's raw client: a RST after the peer's FIN is still eof.
 * socat's TCP side is "socket 2"; its stdin reaching EOF ("socket 1") is not an end of the exchange.
 */
export function parseSocatLog(log: string): SocatSession {
  const lines = log.split('\n');
  const address = /opening connection to AF=\d+ (\S+):\d+/.exec(log)?.[1];
  const at = address === undefined ? {} : { address };
  if (!lines.some((l) => l.includes('starting data transfer loop'))) {
    const error = lines.find((l) => / E /.test(l));
    const text = error?.replace(/^.* E /, '') ?? 'socat never connected';
    const known = CONNECT_ERRORS.find(([re]) => re.test(text));
    return { ...at, connect: known?.[1] ?? 'error', end: 'not-connected', failure: text, ...(known ? { code: known[2] } : {}) };
  }
  for (const line of lines) {
    if (/Connection reset by peer|Broken pipe/.test(line)) {
      return {
        ...at,
        connect: 'ok',
        end: 'reset',
        failure: line.replace(/^.* [EW] /, ''),
        code: /Broken pipe/.test(line) ? 'EPIPE' : 'ECONNRESET',
      };
    }
    if (/socket 2 \(fd \d+\) is at EOF/.test(line)) return { ...at, connect: 'ok', end: 'eof' };
    if (/inactivity timeout triggered/.test(line)) return { ...at, connect: 'ok', end: 'idle' };
  }
  return { ...at, connect: 'ok', end: 'eof' };
}

/** RESP encoding of a command, what redis-cli would send. */
export function resp(command: string[]): string {
  return `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`;
}

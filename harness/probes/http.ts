// HTTP probe: Debian's curl as a child process of the agent, so it runs in the pod's netns as the
// agent's uid (iptables captures it like the application's own curl). The command is what a person
// would type, plus flags that make the result readable and the run hermetic:
//   curl -q -v -sS --noproxy '*' -o <tmp>/body -D <tmp>/headers -w '%{http_code} %{time_total} %{local_port} %{remote_ip}'
//        --max-time <timeoutMs/1000> -X <method> [-I] [-H 'name: value' ...] [--cacert <caFile>] --url <url>
//   -q        first: ignore ~/.curlrc;  --noproxy '*': never use a proxy from the environment
//   -v        curl 7.88 prints only "curl: (7) ... Couldn't connect to server" for every connect failure;
//             the verbose lines ("* connect to X port N failed: Connection refused" or "* Immediate
//             connect fail for X: ...", and "* Connected to ...") tell refused from unreachable and
//             whether a connection was made. curlError is still only the "curl: (N) ..." line.
// A header with an empty value is passed as "name:" which, as in curl, removes curl's own header of that
// name (e.g. Host or User-Agent). -X HEAD without head: true makes curl wait for a body (exit 28), as curl does.
//
// Mapping onto the common fields (connected = %{local_port} != 0 or a "* Connected to" line):
//   exit 0                                -> connect ok,          end eof,           errorClass none
//   connected, exit 28 (no answer in time) -> connect ok,         end idle,          errorClass curl-28
//   connected, "Connection reset by peer"/"Broken pipe" after connecting (56 Recv failure, 35 in the TLS handshake, 55 ...)
//                                         -> connect ok,          end reset,         errorClass curl-<code>
//   connected, any other exit (52 empty reply, 35 TLS, 60 certificate, 18 partial, 1 HTTP/0.9, 22 ...)
//                                         -> connect ok,          end eof,           errorClass curl-<code>
//                                            (for errors curl raises itself, like 60, "eof" means curl closed)
//   not connected, exit 7 with a verbose connect-failure line saying
//                          "Connection refused"                        -> refused
//                          "No route to host" / "Network is unreachable" -> unreachable
//                          "Connection timed out"                      -> timeout
//                          anything else (e.g. a RST right after the SYN-ACK) -> error
//   not connected, exit 28 (max-time ran out before a connection)     -> timeout
//   not connected, any other exit (6 resolve, 3 bad URL, ...)         -> error
//   (all not connected: end not-connected, errorClass curl-<code>)
//   curl could not be run, or was killed by the backstop deadline   -> error / not-connected / error
// received is '' (the body is in `body`); receivedBytes = bytes of all header blocks + body as curl wrote them
// (after de-chunking; no content decoding). durationMs is curl's %{time_total}.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { elapsedMs } from './tcp.ts';
import type { ConnectOutcome, EndKind, ProbeResult } from './result.ts';
import { clipped, quoted, type ClientCheck, type ProbeType } from './probeType.ts';
import { hexSection, q, textSection } from './shell.ts';

/** What the probe agent is sent for an http probe. */
export interface HttpProbeSpec {
  kind: 'http';
  url: string;
  method: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** curl --cacert; the lab's CA file */
  caFile?: string;
  /** curl -I style: HEAD, only headers */
  head?: boolean;
}

export const CURL = '/usr/bin/curl';
const WRITE_OUT = '%{http_code} %{time_total} %{local_port} %{remote_ip}';
const BODY_LIMIT = 4096;
/** curl's --max-time should always end it first; this only guards against a wedged child. */
const BACKSTOP_MS = 5000;

interface CurlRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: Error;
}

export async function runHttpProbe(spec: HttpProbeSpec): Promise<ProbeResult> {
  const startedAt = performance.now();
  const head = { kind: 'http' as const, target: targetOf(spec.url), received: '' };
  const dir = await mkdtemp(join(tmpdir(), 'egress-lab-http-'));
  try {
    const bodyPath = join(dir, 'body');
    const headerPath = join(dir, 'headers');
    const run = await runCurl(curlArgs(spec, bodyPath, headerPath), spec.timeoutMs + BACKSTOP_MS);
    if (run.exitCode === null) {
      const why = run.spawnError ? `could not run ${CURL}: ${run.spawnError.message}` : `${CURL} killed by ${run.signal ?? 'a signal'}`;
      return {
        ...head,
        connect: 'error',
        receivedBytes: 0,
        end: 'not-connected',
        errorClass: 'error',
        error: why,
        durationMs: elapsedMs(startedAt),
      };
    }
    const headerBytes = await readOrEmpty(headerPath);
    const bodyBytes = spec.head ? Buffer.alloc(0) : await readOrEmpty(bodyPath);
    return { ...head, ...interpret(run.exitCode, run.stdout, run.stderr, headerBytes, bodyBytes, elapsedMs(startedAt)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function curlArgs(spec: HttpProbeSpec, bodyPath: string, headerPath: string): string[] {
  const args = [
    '-q',
    '-v',
    '-sS',
    '--noproxy',
    '*',
    '-o',
    bodyPath,
    '-D',
    headerPath,
    '-w',
    WRITE_OUT,
    '--max-time',
    String(spec.timeoutMs / 1000),
  ];
  // -I alone: curl then sends HEAD; with -X it would send that method and still read headers only.
  if (spec.head) args.push('-I');
  else args.push('-X', spec.method);
  for (const [name, value] of Object.entries(spec.headers)) args.push('-H', value === '' ? `${name}:` : `${name}: ${value}`);
  if (spec.caFile !== undefined) args.push('--cacert', spec.caFile);
  args.push('--url', spec.url);
  return args;
}

/** "host:port" of the URL, with the scheme's default port; the URL itself if it does not parse. */
function targetOf(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
    return `${u.hostname}:${port}`;
  } catch {
    return url;
  }
}

function runCurl(args: string[], deadlineMs: number): Promise<CurlRun> {
  return new Promise((resolve) => {
    const child = spawn(CURL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    let spawnError: Error | undefined;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    // -v output is headers and TLS notes only, never the body; still, keep at most 1 MiB.
    child.stderr.on('data', (c: Buffer) => {
      if (errBytes < 1 << 20) {
        err.push(c);
        errBytes += c.length;
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('error', (e) => {
      spawnError = e;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: spawnError ? null : code,
        signal,
        spawnError,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    // curl creates -o/-D files only once it has something to write.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

type Interpreted = Omit<ProbeResult, 'kind' | 'target' | 'received'>;

/** Pure: curl's exit code, -w output, verbose stderr and the two files -> the result fields. */
export function interpret(
  exitCode: number,
  stdout: string,
  stderr: string,
  headerBytes: Buffer,
  bodyBytes: Buffer,
  wallMs: number,
): Interpreted {
  const w = parseWriteOut(stdout);
  const verbose = parseVerbose(stderr);
  const connected = (w?.localPort ?? 0) !== 0 || verbose.connected;
  const headerText = headerBytes.toString('latin1');
  const block = lastResponseBlock(headerText);
  const httpStatus = w && w.httpCode !== 0 ? w.httpCode : block?.status;
  const connect: ConnectOutcome = connected ? 'ok' : notConnectedOutcome(exitCode, verbose.connectFailure);
  let end: EndKind;
  if (!connected) end = 'not-connected';
  else if (exitCode === 0) end = 'eof';
  else if (verbose.resetAfterConnect) end = 'reset';
  else if (exitCode === 28) end = 'idle';
  else end = 'eof';
  const error =
    exitCode === 0
      ? undefined
      : [
          verbose.curlError ?? `curl exited with ${exitCode}`,
          verbose.connectFailure && !connected ? `(${verbose.connectFailure})` : undefined,
        ]
          .filter((s) => s !== undefined)
          .join(' ');
  return {
    exitCode,
    ...(httpStatus === undefined ? {} : { httpStatus }),
    ...(block === undefined ? {} : { headers: block.headers, body: bodyBytes.subarray(0, BODY_LIMIT).toString('utf8') }),
    ...(w?.remoteIp ? { address: w.remoteIp } : {}),
    ...(w && w.localPort !== 0 ? { localPort: w.localPort } : {}),
    connect,
    receivedBytes: headerBytes.length + bodyBytes.length,
    end,
    errorClass: exitCode === 0 ? 'none' : `curl-${exitCode}`,
    ...(error === undefined ? {} : { error }),
    ...(verbose.curlError === undefined ? {} : { curlError: verbose.curlError }),
    durationMs: w ? Math.round(w.timeTotal * 1000) : wallMs,
  };
}

function notConnectedOutcome(exitCode: number, failure: string | undefined): ConnectOutcome {
  if (exitCode === 28) return 'timeout';
  if (exitCode !== 7 || failure === undefined) return 'error';
  if (/Connection refused/i.test(failure)) return 'refused';
  if (/No route to host|Network is unreachable/i.test(failure)) return 'unreachable';
  if (/timed out/i.test(failure)) return 'timeout';
  return 'error';
}

interface WriteOut {
  httpCode: number;
  timeTotal: number;
  localPort: number;
  remoteIp: string;
}

export function parseWriteOut(stdout: string): WriteOut | undefined {
  const m = /^(\d{3}) (\d+(?:\.\d+)?) (\d+) ?(\S*)\s*$/.exec(stdout);
  if (!m) return undefined;
  return { httpCode: Number(m[1]), timeTotal: Number(m[2]), localPort: Number(m[3]), remoteIp: m[4] ?? '' };
}

interface Verbose {
  curlError?: string;
  connected: boolean;
  connectFailure?: string;
  resetAfterConnect: boolean;
}

export function parseVerbose(stderr: string): Verbose {
  const seen: Verbose = { connected: false, resetAfterConnect: false };
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^curl: \(\d+\) /.test(line)) {
      seen.curlError = line.trimEnd();
      continue;
    }
    if (!line.startsWith('* ')) continue; // "> " request, "< " response headers, "{ [n bytes data]"
    // "connect to H port P failed: R" after a non-blocking connect, or "Immediate connect fail for H: R"
    // when connect() itself already failed (happens on loopback under load).
    if (/^\*\s+(?:connect to .* failed|Immediate connect fail for .*?): /.test(line)) {
      seen.connectFailure = line.slice(2).trim();
      continue;
    }
    if (/^\*\s+Connected to /.test(line)) seen.connected = true;
    else if (seen.connected && /Connection reset by peer|Broken pipe/i.test(line)) seen.resetAfterConnect = true;
  }
  return seen;
}

interface ResponseBlock {
  status?: number;
  headers: Record<string, string>;
}

/** -D holds every response block (1xx, then the final one): the last one that starts with a status line. */
export function lastResponseBlock(text: string): ResponseBlock | undefined {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\/\S+ \d{3}/.test(b));
  const last = blocks.at(-1);
  if (last === undefined) return undefined;
  const [statusLine = '', ...lines] = last.split(/\r?\n/);
  // A Map, then fromEntries: a header named "__proto__" must stay an ordinary own property.
  const headers = new Map<string, string>();
  let previous: string | undefined;
  for (const line of lines) {
    if (/^[ \t]/.test(line) && previous !== undefined) {
      // obsolete line folding
      headers.set(previous, `${headers.get(previous) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    previous = line.slice(0, colon).trim().toLowerCase();
    headers.set(previous, line.slice(colon + 1).trim());
  }
  const status = /^HTTP\/\S+ (\d{3})/.exec(statusLine)?.[1];
  return { ...(status === undefined ? {} : { status: Number(status) }), headers: Object.fromEntries(headers) };
}

// ---------------------------------------------------------------------------------------------
// The http probe type: `http: { url, method, headers, head }` in a scenario.

// HTTP token (RFC 9110): methods and header names; curl gets them as separate argv entries.
const token = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP token');

export const httpBlock = z.strictObject({
  /** What curl fetches, e.g. http://httpbin.org/headers or https://www.baidu.com/. */
  url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL'),
  method: z.string().default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  /** curl -I: headers only. */
  head: z.boolean().default(false),
  timeoutMs: z.number().int().min(50).max(60000).default(10000),
});
export type HttpBlock = z.infer<typeof httpBlock>;

/** The URL with its host mapped (an IP literal or a name; the port and path stay). */
function mapUrlHost(url: string, map: (host: string) => string): string {
  const m = /^(https?:\/\/)([^/:?#]+)(.*)$/.exec(url);
  return m ? `${m[1]}${map(m[2]!)}${m[3]}` : url;
}

function httpChecks(
  e: { exitCode?: number; status?: number; headers?: Record<string, string>; bodyContains?: string; bodyAbsent?: string },
  r: ProbeResult,
): ClientCheck[] {
  const checks: ClientCheck[] = [];
  const add = (what: string, expected: string, seen: string, ok: boolean) => checks.push({ what, expected, seen, ok });
  if (e.exitCode !== undefined)
    add('exit code', String(e.exitCode), `${r.exitCode ?? 'none'}${r.curlError ? ` (${r.curlError})` : ''}`, r.exitCode === e.exitCode);
  if (e.status !== undefined) add('HTTP status', String(e.status), String(r.httpStatus ?? 'none'), r.httpStatus === e.status);
  for (const [name, want] of Object.entries(e.headers ?? {})) {
    const got = r.headers?.[name.toLowerCase()];
    const ok = want === 'present' ? got !== undefined : want === 'absent' ? got === undefined : got === want;
    add(`header ${name}`, want, got === undefined ? 'absent' : quoted(got), ok);
  }
  const body = r.body ?? '';
  if (e.bodyContains !== undefined) add('body contains', quoted(e.bodyContains), quoted(clipped(body)), body.includes(e.bodyContains));
  if (e.bodyAbsent !== undefined) add('body lacks', quoted(e.bodyAbsent), quoted(clipped(body)), !body.includes(e.bodyAbsent));
  return checks;
}

const httpExpect = {
  /** curl's exit code (0, 35, 52, 56, 60...). */
  exitCode: z.number().int().optional(),
  /** HTTP status of the final response. */
  status: z.number().int().optional(),
  /** Response headers (lower-case names): an exact value, "present" or "absent". */
  headers: z.record(z.string(), z.string()).optional(),
  bodyContains: z.string().optional(),
  bodyAbsent: z.string().optional(),
};

export const httpProbe: ProbeType<'http', HttpBlock, HttpProbeSpec, typeof httpExpect> = {
  kind: 'http',
  schema: httpBlock,
  expect: httpExpect,
  clientChecks: httpChecks,
  // curl-<N>: curl exited with N (7 could not connect, 28 timed out, 52 empty reply, 56 reset, 60 bad certificate).
  errorClasses: ['none', 'curl-<N>', 'error'],
  // curl 35, 52, 60 and a 502 from block_all or a 504 timeout are failures; a 301 is not.
  expectsFailure: (e) => (e.exitCode !== undefined && e.exitCode !== 0) || (e.status !== undefined && e.status >= 400),
  spec: (b) => ({ kind: 'http', ...b }),
  wire: z.object({
    kind: z.literal('http'),
    url: z.string().regex(/^https?:\/\/\S+$/i, 'expected an http:// or https:// URL'),
    method: token,
    headers: z.record(token, z.string().regex(/^[^\r\n\0]*$/, 'expected a header value without CR, LF or NUL')),
    timeoutMs: z.number().int().positive(),
    caFile: z.string().min(1).optional(),
    head: z.boolean().optional(),
  }),
  describe: (b) => `curl ${b.head ? '-I ' : ''}${b.method !== 'GET' ? `-X ${b.method} ` : ''}${b.url}`,
  target: (b) => {
    const url = new URL(b.url);
    const https = url.protocol === 'https:';
    const given = Object.entries(b.headers).find(([k]) => k.toLowerCase() === 'host')?.[1];
    return {
      host: url.hostname,
      port: Number(url.port || (https ? 443 : 80)),
      scheme: https ? 'https' : 'http',
      hostHeader: given ?? url.host,
      path: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(Object.entries(b.headers).filter(([k]) => k.toLowerCase() !== 'host')),
      sendsFirst: true,
    };
  },
  host: (b) => new URL(b.url).hostname,
  withHost: (b, map) => ({ ...b, url: mapUrlHost(b.url, map) }),
  resultTarget: (s) => targetOf(s.url),
  budgetMs: (s) => s.timeoutMs * 2,
  withCaFile: (s, file) => ({ ...s, caFile: file }),
  run: runHttpProbe,
  // The same curl command line as the lab's agent, run in a scratch directory; its four outputs
  // come back as sections and are read by the same interpret().
  kindScript: (s) =>
    [
      'd=$(mktemp -d)',
      'cd "$d"',
      ': >body; : >headers',
      `curl ${curlArgs(s, 'body', 'headers').map(q).join(' ')} >wout 2>err; rc=$?`,
      textSection('WRITEOUT', 'wout'),
      hexSection('STDERR', 'err'),
      hexSection('HEADERS', 'headers'),
      hexSection('BODY', 'body'),
      'set -- $(cat wout) 0 0 0',
      `printf 'EGL %d %d %d\\n' "$rc" "$3" "$(cat headers body | wc -c)"`,
      'cd /',
      'rm -rf "$d"',
    ].join('; '),
  parseKindOutput: (s, out, base) => {
    const headers = Buffer.from(out.sections.HEADERS ?? '', 'latin1');
    const body = s.head ? Buffer.alloc(0) : Buffer.from(out.sections.BODY ?? '', 'latin1');
    const stderr = Buffer.from(out.sections.STDERR ?? '', 'latin1').toString('utf8');
    return { ...base, received: '', ...interpret(out.exitCode, out.sections.WRITEOUT ?? '', stderr, headers, body, base.durationMs) };
  },
  shellLimits: {},
};

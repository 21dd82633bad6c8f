/**
 * httpbin-like external web servers for the lab (httpbin.org, www.baidu.com...), over plain HTTP
 * and/or HTTPS. Run as `node --import tsx harness/servers/httpbin.ts <config.json>`:
 *
 *   { "name": "httpbin.org",
 *     "listen": [{ "address": "10.0.0.20", "port": 80 },
 *                { "address": "10.0.0.20", "port": 443, "tls": { "certFile": "...", "keyFile": "..." } }] }
 *
 * Prints `READY` once every listener listens, then one line per request
 * (`<time> <remote> <method> <host> <path> <status>`), and exits 0 on SIGTERM/SIGINT.
 *
 * The JSON bodies follow httpbin's (Flask/werkzeug) shapes, because incident reports quote them:
 * header names title-cased the way Python's str.title() does it, keys sorted, 2-space indent, and
 * the proxy/environment headers (X-Request-Id, X-Forwarded-Proto...) hidden unless `?show_env=1`,
 * which is why Istio's documented `curl httpbin.org/headers` output lacks X-Request-Id.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { pathToFileURL } from 'node:url';

export interface HttpbinListen {
  address: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
}

export interface HttpbinConfig {
  name: string;
  listen: HttpbinListen[];
}

export interface HandlerOptions {
  /** The server's name, shown on `/`. */
  name: string;
  /** Called with one access-log line per request once its response is done (or aborted). */
  log?: (line: string) => void;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export const SERVER_HEADER = 'egress-lab-httpbin';
const MAX_DELAY_S = 10;
// httpbin's ENV_HEADERS: set by proxies in front of it, shown only with ?show_env.
const ENV_HEADERS = new Set(
  [
    'X-Varnish',
    'X-Request-Start',
    'X-Heroku-Queue-Depth',
    'X-Real-Ip',
    'X-Forwarded-Proto',
    'X-Forwarded-Protocol',
    'X-Forwarded-Ssl',
    'X-Heroku-Queue-Wait-Time',
    'X-Forwarded-For',
    'X-Heroku-Dynos-In-Use',
    'X-Forwarded-Port',
    'X-Request-Id',
    'Via',
    'Total-Route-Time',
    'Connect-Time',
  ].map((h) => h.toLowerCase()),
);

/** Python's str.title(): a letter is upper-cased after any non-letter (`x-b3-traceid` → `X-B3-Traceid`). */
export function titleCase(name: string): string {
  let out = '';
  let prevLetter = false;
  for (const ch of name) {
    const letter = ch.toLowerCase() !== ch.toUpperCase();
    out += letter ? (prevLetter ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevLetter = letter;
  }
  return out;
}

/** Request headers as httpbin shows them: title-cased, repeated ones joined with ','. */
export function echoHeaders(rawHeaders: string[], showEnv: boolean): Record<string, string> {
  const grouped = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = titleCase(rawHeaders[i]!);
    if (!showEnv && ENV_HEADERS.has(name.toLowerCase())) continue;
    grouped.set(name, [...(grouped.get(name) ?? []), rawHeaders[i + 1]!]);
  }
  return Object.fromEntries([...grouped.keys()].sort().map((k) => [k, grouped.get(k)!.join(',')]));
}

function args(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of [...new Set(url.searchParams.keys())].sort()) {
    const all = url.searchParams.getAll(key);
    out[key] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

function remoteAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
}

function requestUrl(req: IncomingMessage): URL {
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  return new URL(req.url ?? '/', `${scheme}://${req.headers.host ?? 'localhost'}`);
}

/** httpbin's get_dict: origin prefers X-Forwarded-For, as httpbin behind a proxy does. */
function describe(req: IncomingMessage, url: URL) {
  const xff = req.headers['x-forwarded-for'];
  return {
    args: args(url),
    headers: echoHeaders(req.rawHeaders, url.searchParams.has('show_env')),
    origin: typeof xff === 'string' ? xff : remoteAddress(req),
    url: url.href,
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    server: SERVER_HEADER,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
    'access-control-allow-credentials': 'true',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', `${JSON.stringify(value, null, 2)}\n`);
}

function page(title: string, text: string): string {
  return `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;
}

function notFound(res: ServerResponse): void {
  send(res, 404, 'text/html; charset=utf-8', page('404 Not Found', 'The requested URL was not found on the server.'));
}

function delay(req: IncomingMessage, res: ServerResponse, url: URL, seconds: string): void {
  const s = Number(seconds);
  if (!/^\d+(\.\d+)?$/.test(seconds) || !Number.isFinite(s)) return notFound(res);
  const timer = setTimeout(
    () => {
      const { args: a, headers, origin, url: u } = describe(req, url);
      sendJson(res, { args: a, data: '', files: {}, form: {}, headers, origin, url: u });
    },
    Math.min(s, MAX_DELAY_S) * 1000,
  );
  // A client that gave up (a probe's timeout) gets no late write into a destroyed response.
  res.once('close', () => clearTimeout(timer));
}

function status(res: ServerResponse, code: string): void {
  const n = Number(code);
  if (!/^\d{3}$/.test(code) || n < 200 || n > 599) {
    return send(res, 400, 'text/html; charset=utf-8', page('400 Bad Request', 'Invalid status code.'));
  }
  send(res, n, 'text/html; charset=utf-8', '');
}

function route(req: IncomingMessage, res: ServerResponse, name: string): void {
  const url = requestUrl(req);
  const p = url.pathname;
  const m = /^\/(delay|status)\/([^/]+)$/.exec(p);
  if (p === '/') return send(res, 200, 'text/html; charset=utf-8', page(name, `${name}, served by ${SERVER_HEADER} (egress-lab).`));
  if (p === '/headers') return sendJson(res, { headers: describe(req, url).headers });
  if (p === '/get') return sendJson(res, describe(req, url));
  if (p === '/ip') return sendJson(res, { origin: describe(req, url).origin });
  if (m?.[1] === 'delay') return delay(req, res, url, m[2]!);
  if (m?.[1] === 'status') return status(res, m[2]!);
  notFound(res);
}

export function accessLogLine(req: IncomingMessage, remote: string, statusCode: number, at = new Date()): string {
  return [at.toISOString(), remote, req.method ?? '-', req.headers.host ?? '-', req.url ?? '-', statusCode].join(' ');
}

/** The request handler, usable with any http/https server (tests run it in-process). */
export function createHttpbinHandler(opts: HandlerOptions): Handler {
  return (req, res) => {
    // 'close' fires whether the response completed or the client went away, so every request logs
    // once; a client that left before the response logs nginx's 499 (client closed request).
    // The peer address is read now: the socket forgets it once destroyed.
    const remote = remoteAddress(req);
    res.once('close', () => opts.log?.(accessLogLine(req, remote, res.writableFinished ? res.statusCode : 499)));
    route(req, res, opts.name);
  };
}

export function parseConfig(text: string): HttpbinConfig {
  const c = JSON.parse(text) as Partial<HttpbinConfig>;
  if (typeof c.name !== 'string' || !Array.isArray(c.listen) || c.listen.length === 0) {
    throw new Error('httpbin config needs "name" and a non-empty "listen" list');
  }
  for (const l of c.listen) {
    if (typeof l.address !== 'string' || !Number.isInteger(l.port)) throw new Error(`bad listener: ${JSON.stringify(l)}`);
  }
  return c as HttpbinConfig;
}

function listen(l: HttpbinListen, handler: Handler): Promise<Server> {
  const server = l.tls
    ? createHttpsServer({ cert: readFileSync(l.tls.certFile), key: readFileSync(l.tls.keyFile) }, handler)
    : createHttpServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.address, () => resolve(server));
  });
}

async function main(configFile: string): Promise<void> {
  const config = parseConfig(readFileSync(configFile, 'utf8'));
  // Lines from requests that arrive before the last listener is up wait, so READY comes first.
  let pending: string[] | undefined = [];
  const log = (line: string) => (pending ? pending.push(line) : process.stdout.write(`${line}\n`));
  const handler = createHttpbinHandler({ name: config.name, log });
  const servers: Server[] = [];
  const stop = () => {
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    process.exit(0);
  };
  // Handlers go in before READY: whoever reads READY may send SIGTERM before the next statement runs.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  servers.push(...(await Promise.all(config.listen.map((l) => listen(l, handler)))));
  process.stdout.write('READY\n');
  for (const line of pending) process.stdout.write(`${line}\n`);
  pending = undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const configFile = process.argv[2];
  if (!configFile) {
    process.stderr.write('usage: node --import tsx harness/servers/httpbin.ts <config.json>\n');
    process.exit(2);
  }
  main(configFile).catch((err: Error) => {
    process.stderr.write(`httpbin: ${err.message}\n`);
    process.exit(1);
  });
}

// The lab's external servers as real processes on 127.0.0.1: the httpbin script behind real TLS
// certificates (checked by curl), and a real mariadbd (checked by its greeting and the mariadb CLI).
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLabCa, issueServerCert, type LabCa } from '../../harness/servers/certs.ts';
import { createHttpbinHandler, titleCase } from '../../harness/servers/httpbin.ts';
import {
  copyDatadir,
  mariadbArgv,
  MARIADB_DATABASE,
  MARIADB_PASSWORD,
  MARIADB_READY,
  MARIADB_USER,
  prepareMariadbTemplate,
} from '../../harness/servers/mariadb.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'egl-servers-'));
const children: ChildProcess[] = [];
const httpbinLog: string[] = [];
let ca: LabCa;
let httpbin: ChildProcess;
let ports = { http: 0, baidu: 0, netease: 0 };

interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** curl never rejects here: its exit code is the observation (60 = certificate verification failed). */
function curl(args: string[]): Promise<CurlResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

function exec(cmd: string, args: string[]): Promise<CurlResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves when a line of `stream` matches; rejects if the process exits first. */
function waitForLine(child: ChildProcess, stream: NodeJS.ReadableStream, re: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(() => reject(new Error(`no ${re} after ${timeoutMs} ms:\n${seen.join('\n')}`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`exited (${code}) before ${re}:\n${seen.join('\n')}`));
    child.once('exit', onExit);
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      seen.push(line);
      if (!re.test(line)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve();
    });
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

test.before(async () => {
  ca = await createLabCa(join(tmp, 'ca'));
  const baidu = await issueServerCert(ca, join(tmp, 'certs'), ['www.baidu.com', '127.0.0.1']);
  const netease = await issueServerCert(ca, join(tmp, 'certs'), ['www.163.com']);
  ports = { http: await freePort(), baidu: await freePort(), netease: await freePort() };
  const config = join(tmp, 'httpbin.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'www.baidu.com',
      listen: [
        { address: '127.0.0.1', port: ports.http },
        { address: '127.0.0.1', port: ports.baidu, tls: { certFile: baidu.certFile, keyFile: baidu.keyFile } },
        { address: '127.0.0.1', port: ports.netease, tls: { certFile: netease.certFile, keyFile: netease.keyFile } },
      ],
    }),
  );
  httpbin = spawn(process.execPath, ['--import', 'tsx', 'harness/servers/httpbin.ts', config], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(httpbin);
  await waitForLine(httpbin, httpbin.stdout!, /^READY$/, 20_000);
  createInterface({ input: httpbin.stdout! }).on('line', (l) => httpbinLog.push(l));
});

test.after.always(async () => {
  for (const c of children) await stop(c);
  rmSync(tmp, { recursive: true, force: true });
});

const baiduUrl = (path: string) => [
  '--cacert',
  ca.certFile,
  '--resolve',
  `www.baidu.com:${ports.baidu}:127.0.0.1`,
  `https://www.baidu.com:${ports.baidu}${path}`,
];

test('the CA is a CA and the leaf names its hosts and IPs in subjectAltName', async (t) => {
  const caExt = await exec('openssl', ['x509', '-in', ca.certFile, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage']);
  t.regex(caExt.stdout, /CN = egress-lab CA/);
  t.regex(caExt.stdout, /CA:TRUE/);
  t.regex(caExt.stdout, /Certificate Sign/);
  const leaf = await exec('openssl', [
    'x509',
    '-in',
    join(tmp, 'certs', 'www.baidu.com.crt'),
    '-noout',
    '-subject',
    '-ext',
    'subjectAltName,extendedKeyUsage',
  ]);
  t.regex(leaf.stdout, /subject=CN = www\.baidu\.com/);
  t.regex(leaf.stdout, /DNS:www\.baidu\.com, IP Address:127\.0\.0\.1/);
  t.regex(leaf.stdout, /TLS Web Server Authentication/);
  const verify = await exec('openssl', ['verify', '-CAfile', ca.certFile, '-purpose', 'sslserver', join(tmp, 'certs', 'www.163.com.crt')]);
  t.is(verify.code, 0, verify.stderr);
});

test('HTTPS /headers for www.baidu.com verifies against the lab CA and echoes headers httpbin-style', async (t) => {
  const r = await curl(['-H', 'x-envoy-decorator-operation: httpbin.org:80/*', '-H', 'x-request-id: hidden', ...baiduUrl('/headers')]);
  t.is(r.code, 0, r.stderr);
  const { headers } = JSON.parse(r.stdout) as { headers: Record<string, string> };
  t.is(headers['Host'], `www.baidu.com:${ports.baidu}`);
  t.regex(headers['User-Agent'] ?? '', /^curl\//);
  t.is(headers['X-Envoy-Decorator-Operation'], 'httpbin.org:80/*');
  // httpbin hides proxy headers such as X-Request-Id unless ?show_env is given.
  t.false('X-Request-Id' in headers);
});

test('a certificate for another name fails verification with curl exit 60', async (t) => {
  const mismatch = await curl([
    '--cacert',
    ca.certFile,
    '--resolve',
    `www.163.com:${ports.baidu}:127.0.0.1`,
    `https://www.163.com:${ports.baidu}/get`,
  ]);
  t.is(mismatch.code, 60, mismatch.stderr);
  t.regex(mismatch.stderr, /www\.163\.com/);
  // The same name against the listener holding its own certificate works: the failure is the name.
  const match = await curl([
    '--cacert',
    ca.certFile,
    '--resolve',
    `www.163.com:${ports.netease}:127.0.0.1`,
    `https://www.163.com:${ports.netease}/get`,
  ]);
  t.is(match.code, 0, match.stderr);
});

test('an IP address in the certificate verifies for https://127.0.0.1', async (t) => {
  const r = await curl(['--cacert', ca.certFile, `https://127.0.0.1:${ports.baidu}/ip`]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { origin: '127.0.0.1' });
});

test('/status/418 answers 418 with an empty body and the server header', async (t) => {
  const r = await curl(['-D', '-', '-o', '/dev/null', `http://127.0.0.1:${ports.http}/status/418`]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^HTTP\/1\.1 418 /);
  t.regex(r.stdout, /\r\nserver: egress-lab-httpbin\r\n/i);
  t.regex(r.stdout, /\r\ncontent-length: 0\r\n/i);
});

test('/delay/1 answers after at least one second, like /get', async (t) => {
  const r = await curl([`http://127.0.0.1:${ports.http}/delay/1?x=1`]);
  t.is(r.code, 0, r.stderr);
  t.true(r.ms >= 1000, `took ${r.ms} ms`);
  const body = JSON.parse(r.stdout) as { args: unknown; url: string };
  t.deepEqual(body.args, { x: '1' });
  t.is(body.url, `http://127.0.0.1:${ports.http}/delay/1?x=1`);
});

test('/get lists repeated query arguments as arrays and / names the server', async (t) => {
  const get = await curl([`http://127.0.0.1:${ports.http}/get?a=1&a=2&b=x`]);
  t.deepEqual((JSON.parse(get.stdout) as { args: unknown }).args, { a: ['1', '2'], b: 'x' });
  const root = await curl([`http://127.0.0.1:${ports.http}/`]);
  t.regex(root.stdout, /<title>www\.baidu\.com<\/title>/);
});

test('every request is logged on stdout after READY', async (t) => {
  await curl(['-o', '/dev/null', `http://127.0.0.1:${ports.http}/status/503?logged=1`]);
  await new Promise((r) => setTimeout(r, 100));
  const line = httpbinLog.find((l) => l.includes('/status/503?logged=1'));
  t.regex(line ?? '', /^\d{4}-\d\d-\d\dT\S+Z 127\.0\.0\.1 GET 127\.0\.0\.1:\d+ \/status\/503\?logged=1 503$/);
});

test('the handler works in-process and title-cases like Python str.title()', async (t) => {
  t.is(titleCase('x-b3-traceid'), 'X-B3-Traceid');
  t.is(titleCase('USER-AGENT'), 'User-Agent');
  const logged: string[] = [];
  const server: Server = createServer(createHttpbinHandler({ name: 'in-process', log: (l) => logged.push(l) })).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/headers?show_env=1`, { headers: { 'x-request-id': 'abc' } });
  const body = (await res.json()) as { headers: Record<string, string> };
  server.close();
  t.is(res.headers.get('server'), 'egress-lab-httpbin');
  t.is(body.headers['X-Request-Id'], 'abc');
  t.is(logged.length, 1);
});

test('httpbin exits 0 on SIGTERM', async (t) => {
  // Its own process, so that stopping it does not race the other tests' requests.
  const config = join(tmp, 'httpbin-stop.json');
  writeFileSync(config, JSON.stringify({ name: 'x', listen: [{ address: '127.0.0.1', port: await freePort() }] }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/servers/httpbin.ts', config], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await waitForLine(child, child.stdout!, /^READY$/, 20_000);
  t.is(await stop(child), 0);
});

/** The server greeting (protocol 10): version string, then the auth plugin name near the end. */
async function readGreeting(port: number): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  const [data] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return data;
}

interface Mariadb {
  server: ChildProcess;
  port: number;
  datadir: string;
  dir: string;
  readyMs: number;
}

async function startMariadb(template: string, name: string, logFile?: string): Promise<Mariadb> {
  const dir = join(tmp, name);
  const datadir = join(dir, 'data');
  copyDatadir(template, datadir);
  const port = await freePort();
  const [cmd, ...args] = mariadbArgv({
    datadir,
    bindAddress: '127.0.0.1',
    port,
    socket: join(dir, 'mysqld.sock'),
    pidFile: join(dir, 'mysqld.pid'),
    ...(logFile ? { logFile: join(dir, logFile) } : {}),
  });
  const start = Date.now();
  const server = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  await waitForLine(server, server.stderr!, MARIADB_READY, 30_000);
  return { server, port, datadir, dir, readyMs: Date.now() - start };
}

async function stopMariadb(t: ExecutionContext, m: Mariadb): Promise<void> {
  t.is(await stop(m.server), 0);
  const left = await exec('pgrep', ['-f', m.datadir]);
  t.is(left.code, 1, `mariadbd still running: ${left.stdout}`);
}

const mariadbCli = (port: number) => ['--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port), '-N', '-B'];

test.serial('mariadbd from the template greets as MariaDB and accepts lab/lab-password', async (t) => {
  const cache = join(tmp, 'cache');
  let start = Date.now();
  const template = await prepareMariadbTemplate(cache);
  t.log(`template prepared in ${Date.now() - start} ms`);
  start = Date.now();
  t.is(await prepareMariadbTemplate(cache), template);
  t.true(Date.now() - start < 100, 'the second call is memoised');

  const m = await startMariadb(template, 'mariadb-1');
  t.log(`mariadbd ready in ${m.readyMs} ms`);
  const greeting = await readGreeting(m.port);
  t.is(greeting[4], 10, 'protocol version 10');
  const version = greeting.subarray(5, greeting.indexOf(0, 5)).toString();
  t.log(`greeting version: ${version}`);
  // No "-log" suffix: that appears only when a query log is on.
  t.regex(version, /^5\.5\.5-\d+\.\d+\.\d+-MariaDB-[^-]+$/);
  t.true(greeting.includes('mysql_native_password'));

  const ok = await exec('mariadb', [
    ...mariadbCli(m.port),
    '-u',
    MARIADB_USER,
    `-p${MARIADB_PASSWORD}`,
    MARIADB_DATABASE,
    '-e',
    'SELECT 1',
  ]);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout.trim(), '1');
  const denied = await exec('mariadb', [...mariadbCli(m.port), '-u', MARIADB_USER, '-pwrong', '-e', 'SELECT 1']);
  t.regex(denied.stderr, /Access denied/);
  await stopMariadb(t, m);
});

test.serial('a second copy runs independently and its logFile records the queries', async (t) => {
  const template = await prepareMariadbTemplate(join(tmp, 'cache'));
  const m = await startMariadb(template, 'mariadb-2', 'general.log');
  t.log(`mariadbd ready in ${m.readyMs} ms`);
  const version = (await readGreeting(m.port)).toString('latin1');
  t.regex(version, /5\.5\.5-[^\0]*-log\0/, 'a query log adds "-log" to the greeting version');
  const r = await exec('mariadb', [...mariadbCli(m.port), '-u', MARIADB_USER, `-p${MARIADB_PASSWORD}`, '-e', 'SELECT 42']);
  t.is(r.stdout.trim(), '42', r.stderr);
  t.regex(readFileSync(join(m.dir, 'general.log'), 'utf8'), /Query\s+SELECT 42/);
  await stopMariadb(t, m);
});

test('a socket path too long for sun_path is refused before mariadbd starts', (t) => {
  const socket = `/tmp/${'x'.repeat(120)}.sock`;
  t.throws(() => mariadbArgv({ datadir: '/nonexistent', bindAddress: '127.0.0.1', port: 3306, socket, pidFile: '/nonexistent/pid' }), {
    message: /longer than 107/,
  });
});

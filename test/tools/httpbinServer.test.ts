// The lab's httpbin as a real process on 127.0.0.1 behind real TLS certificates, checked by curl.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLabCa, issueServerCert, type LabCa } from '../../harness/servers/certs.ts';
import { curl, freePort, waitForLine, stop } from '../helpers/serverProcesses.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'egl-servers-'));
const children: ChildProcess[] = [];
const httpbinLog: string[] = [];
let ca: LabCa;
let httpbin: ChildProcess;
let ports = { http: 0, baidu: 0, netease: 0 };

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

test('httpbin exits 0 on SIGTERM', async (t) => {
  // Its own process, so that stopping it does not race the other tests' requests.
  const config = join(tmp, 'httpbin-stop.json');
  writeFileSync(config, JSON.stringify({ name: 'x', listen: [{ address: '127.0.0.1', port: await freePort() }] }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/servers/httpbin.ts', config], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await waitForLine(child, child.stdout, /^READY$/, 20_000);
  t.is(await stop(child), 0);
});

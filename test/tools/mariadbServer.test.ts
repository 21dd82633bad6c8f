// The lab's MariaDB as a real mariadbd on 127.0.0.1, checked by its greeting and the mariadb CLI.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  copyDatadir,
  mariadbArgv,
  MARIADB_DATABASE,
  MARIADB_PASSWORD,
  MARIADB_READY,
  MARIADB_USER,
  prepareMariadbTemplate,
} from '../../harness/servers/mariadb.ts';
import { exec, freePort, waitForLine, stop } from '../helpers/serverProcesses.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egl-servers-'));
const children: ChildProcess[] = [];

test.after.always(async () => {
  for (const c of children) await stop(c);
  rmSync(tmp, { recursive: true, force: true });
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
  await waitForLine(server, server.stderr, MARIADB_READY, 30_000);
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

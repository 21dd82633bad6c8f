// The mysql probe (mysql2) against a throwaway mariadbd on 127.0.0.1.
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMysqlProbe } from '../../harness/probes/mysql.ts';
import { closedPort, mysqlSpec } from '../helpers/probePeers.ts';

const tempDirs: string[] = [];
let mariadb: ChildProcess | undefined;
let mariadbPort = 0;

async function startMariadb(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-mariadb-'));
  tempDirs.push(dir);
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'],
    { stdio: 'ignore' },
  );
  mariadbPort = await closedPort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${dir}/data`,
      '--bind-address=127.0.0.1',
      `--port=${mariadbPort}`,
      `--socket=${dir}/s.sock`,
      `--pid-file=${dir}/p.pid`,
      '--skip-name-resolve',
      '--skip-log-bin',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  mariadb = child;
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`mariadbd not ready after 30 s:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready for connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mariadbd exited with ${code}:\n${log}`));
    });
  });
}

test.before(async () => {
  await startMariadb();
});

test.after.always(async () => {
  if (mariadb && mariadb.exitCode === null && mariadb.signalCode === null) {
    const exited = once(mariadb, 'exit');
    mariadb.kill('SIGKILL');
    await exited;
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// ---- mysql ----

test('mysql: root on mariadbd -> connected, SELECT 1, serverVersion from the greeting', async (t) => {
  const r = await runMysqlProbe(mysqlSpec(mariadbPort));
  t.is(r.kind, 'mysql');
  t.is(r.errorClass, 'none', r.error);
  t.is(r.reply, '1');
  t.is(r.connect, 'ok');
  t.is(r.end, 'idle');
  t.regex(r.serverVersion ?? '', /^5\.5\.5-\d+\.\d+\.\d+-MariaDB/);
  t.true((r.localPort ?? 0) > 0);
  t.true(r.receivedBytes > 0);
});

test('mysql: wrong user -> access-denied, greeting version still recorded, server closes (eof)', async (t) => {
  const r = await runMysqlProbe(mysqlSpec(mariadbPort, { user: 'nobody', password: 'wrong' }));
  t.is(r.errorClass, 'access-denied');
  t.regex(r.error ?? '', /^ER_ACCESS_DENIED_ERROR: Access denied for user 'nobody'@'127\.0\.0\.1'/);
  t.regex(r.serverVersion ?? '', /MariaDB/);
  t.is(r.connect, 'ok');
  t.is(r.end, 'eof');
});

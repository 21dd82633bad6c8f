/**
 * A real MariaDB server for the lab: the case of a server-first protocol (the server speaks before
 * the client sends a byte), which is what Istio's protocol sniffing gets wrong.
 *
 * With Debian 12's package (mariadbd 10.11.19-MariaDB-0+deb12u1) the greeting (protocol 10) carries
 * the server version `5.5.5-10.11.19-MariaDB-0+deb12u1` (the `5.5.5-` prefix is MariaDB's
 * replication-compatibility hack) and the auth plugin `mysql_native_password`; no TLS is configured,
 * so the greeting does not offer CLIENT_SSL. With `logFile` (the general query log) the version
 * gains a `-log` suffix, as on any MariaDB/MySQL with a query log on. A client that connects and
 * says nothing is closed by the server after connect_timeout (10 s, left at the default).
 *
 * Start-up cost is kept low by building one datadir template per cache directory
 * (mariadb-install-db, 0.6-1.7 s) and giving every server instance a copy of it (~22 MB, 30-80 ms);
 * a copy is ready for connections ~0.1 s after mariadbd starts.
 * The template holds the SQL user `lab`@`%` (password `lab-password`, mysql_native_password) with all
 * privileges on the database `labdb`, and root@localhost without a password (socket or 127.0.0.1).
 *
 * mariadbd writes its log, including the `ready for connections` line, to stderr.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../proc/exec.ts';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import type { ServerContext } from './serverType.ts';

/** Matches mariadbd's stderr line `... [Note] mariadbd: ready for connections.` */
export const MARIADB_READY = /ready for connections/;

export const MARIADB_USER = 'lab';
export const MARIADB_PASSWORD = 'lab-password';
export const MARIADB_DATABASE = 'labdb';

/** The same user, password and database for the kind backend's MariaDB image and in-mesh pods. */
export const MARIADB_ENV = {
  MARIADB_ROOT_PASSWORD: 'root',
  MARIADB_USER,
  MARIADB_PASSWORD,
  MARIADB_DATABASE,
} as const;

/** The official image; it prints MARIADB_READY twice (its initialisation server, then the real one). */
export const MARIADB_IMAGE = 'docker.io/library/mariadb:11.4';

// InnoDB sizes shared by the install and every start: a redo log of another size would be rebuilt
// at each start, and the defaults (96 MB log, 128 MB pool) are far more than a lab needs.
const INNODB_SIZES = ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=16M'];
// sun_path is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

// Install-time SQL (mariadb-install-db --extra-file), run in bootstrap mode after the system tables.
// Bootstrap runs without grant tables loaded, so FLUSH PRIVILEGES comes before CREATE USER; the
// root@<build host name> rows are dropped because --skip-name-resolve would warn about them.
const LAB_SQL = `
DELETE FROM mysql.global_priv WHERE Host NOT IN ('localhost', '127.0.0.1', '::1', '%');
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '127.0.0.1', '::1', '%');
FLUSH PRIVILEGES;
CREATE DATABASE ${MARIADB_DATABASE};
CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${MARIADB_PASSWORD}');
GRANT ALL PRIVILEGES ON ${MARIADB_DATABASE}.* TO '${MARIADB_USER}'@'%';
`;

const templates = new Map<string, Promise<string>>();

/** `10.11.19` from `mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ...`. */
function serverVersion(): string {
  const out = execFileSync('mariadbd', ['--version'], { encoding: 'utf8' });
  const m = /Ver (\d+\.\d+\.\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version from: ${out}`);
  return m[1]!;
}

/** Complete = made by this server version (install-db writes mysql_upgrade_info last) and has labdb. */
function isCompleteTemplate(dir: string): boolean {
  const info = join(dir, 'mysql_upgrade_info');
  if (!existsSync(info) || !existsSync(join(dir, MARIADB_DATABASE))) return false;
  return readFileSync(info, 'utf8').startsWith(`${serverVersion()}-`);
}

async function installDatadir(datadir: string, sqlFile: string): Promise<void> {
  writeFileSync(sqlFile, LAB_SQL);
  await run(
    'mariadb-install-db',
    [
      '--no-defaults', // no /etc/mysql: the host's configuration must not shape the lab
      `--datadir=${datadir}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      `--extra-file=${sqlFile}`,
      ...INNODB_SIZES,
    ],
    { timeoutMs: 120_000 },
  );
}

async function buildTemplate(cacheDir: string): Promise<string> {
  const final = join(cacheDir, 'mariadb-template');
  if (isCompleteTemplate(final)) return final;
  rmSync(final, { recursive: true, force: true }); // stale version or an interrupted build
  // Build beside it and rename into place, so another process never sees a half-made datadir.
  const work = join(cacheDir, `mariadb-template.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await installDatadir(join(work, 'data'), join(work, 'lab.sql'));
    renameSync(join(work, 'data'), final);
  } catch (err) {
    // Another process may have won the rename race; its template is as good as ours.
    if (!isCompleteTemplate(final)) throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return final;
}

/** The template datadir `<cacheDir>/mariadb-template`, built at most once per process. */
export function prepareMariadbTemplate(cacheDir: string): Promise<string> {
  const key = resolve(cacheDir);
  let p = templates.get(key);
  if (!p) {
    p = buildTemplate(key);
    // A failed build is not memoised, so a later call can retry.
    p.catch(() => templates.delete(key));
    templates.set(key, p);
  }
  return p;
}

/** A private copy of the template for one server (`cp -a`: modes and root ownership kept). */
export function copyDatadir(template: string, dest: string): void {
  if (existsSync(dest) && readdirSync(dest).length > 0) throw new Error(`copyDatadir: ${dest} is not empty`);
  mkdirSync(dest, { recursive: true, mode: 0o700 });
  execFileSync('cp', ['-a', '--reflink=auto', `${template}/.`, dest]);
}

export interface MariadbOptions {
  datadir: string;
  bindAddress: string;
  port: number;
  /** Unix socket path; at most 107 bytes, and unique per server (the file system is shared across namespaces). */
  socket: string;
  pidFile: string;
  /** The general query log (every connect and query); the error log stays on stderr. */
  logFile?: string;
}

/** argv for mariadbd in the foreground as root; it is ready when stderr matches MARIADB_READY. */
export function mariadbArgv(opts: MariadbOptions): string[] {
  if (Buffer.byteLength(opts.socket) > MAX_SOCKET_PATH) {
    throw new Error(`mariadb socket path longer than ${MAX_SOCKET_PATH} bytes: ${opts.socket}`);
  }
  return [
    'mariadbd',
    '--no-defaults', // must come first; keeps /etc/mysql out
    '--user=root', // mariadbd refuses to run as root without it
    `--datadir=${opts.datadir}`,
    `--bind-address=${opts.bindAddress}`,
    `--port=${opts.port}`,
    `--socket=${opts.socket}`,
    `--pid-file=${opts.pidFile}`,
    '--skip-name-resolve', // lab namespaces have no DNS: a reverse lookup per connection would stall
    '--skip-log-bin',
    ...INNODB_SIZES,
    '--innodb-temp-data-file-path=ibtmp1:1M:autoextend', // default writes 12 MB at every start
    '--innodb-buffer-pool-load-at-startup=0',
    '--innodb-buffer-pool-dump-at-shutdown=0',
    '--innodb-use-native-aio=0', // several servers could exhaust fs.aio-max-nr; lab I/O is tiny
    '--aria-pagecache-buffer-size=8M',
    '--key-buffer-size=1M',
    '--max-connections=64',
    // Probes that connect and leave without logging in count as connect errors; at the default 100
    // the server would start refusing the probing pod's IP ("Host ... is blocked").
    '--max-connect-errors=1000000',
    '--table-open-cache=256', // keeps the wanted open-files limit under container ulimits
    ...(opts.logFile ? ['--general-log=1', `--general-log-file=${opts.logFile}`] : []),
  ];
}

/** MariaDB from a datadir template prepared once per process and copied per server. */
export async function startMariadb(name: string, ns: string, bindAddress: string, port: number, ctx: ServerContext): Promise<LabProcess> {
  const template = await prepareMariadbTemplate(ctx.cacheDir);
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  // The datadir (about 90 MB) is scratch, outside the run directory: teardown and lab down remove
  // /tmp/<prefix>-*, so run directories stay small (logs and evidence only).
  const datadir = join(tmpdir(), `${ctx.prefix}-${name}`, 'data');
  copyDatadir(template, datadir);
  return startInNetns({
    name: `mariadbd ${name}`,
    ns,
    // A Unix socket path is limited to 107 bytes, so it lives in /tmp, named with the run prefix (lab down sweeps it).
    argv: mariadbArgv({
      datadir,
      bindAddress,
      port,
      socket: join(tmpdir(), `${ctx.prefix}-${name}.sock`),
      pidFile: join(dir, 'mysqld.pid'),
    }),
    logFile: join(ctx.dir, `${name}.log`),
    ready: MARIADB_READY,
    cgroup: ctx.cgroup,
    readyOnStderr: true,
    readyTimeoutMs: 30_000,
  });
}

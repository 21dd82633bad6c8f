/**
 * Servers, started as real processes in lab namespaces: external ones in their external-host
 * namespace (Redis, MariaDB, httpbin-like HTTP/HTTPS), and in-mesh ones inside their pod (seed
 * 002's mysql-server), behind that pod's sidecar.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Progress } from '../backend/backend.ts';
import type { ExternalServer, Workload } from '../scenario/schema.ts';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import type { LabPlan } from './topology.ts';
import type { LabCa } from '../servers/certs.ts';
import type { RunCgroup } from '../proc/cgroup.ts';
import { issueServerCert } from '../servers/certs.ts';
import { copyDatadir, MARIADB_READY, mariadbArgv, prepareMariadbTemplate } from '../servers/mariadb.ts';
import { REDIS_READY } from '../servers/redis.ts';

const REPO = resolve(import.meta.dirname, '../..');

export interface ServerContext {
  plan: LabPlan;
  /** The run directory's servers/ folder: logs, data directories, configs. */
  dir: string;
  /** Where the MariaDB template datadir is kept between scenarios of one process. */
  cacheDir: string;
  ca: LabCa;
  progress: Progress;
  /** The run's cgroup: every server is started inside it. */
  cgroup: RunCgroup;
}

function redisArgv(srv: ExternalServer, port: number, dir: string): string[] {
  return [
    'redis-server',
    '--bind',
    ...srv.addresses,
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    ...(srv.password ? ['--requirepass', srv.password] : []),
  ];
}

async function startRedis(srv: ExternalServer, ns: string, ctx: ServerContext): Promise<LabProcess[]> {
  const started: LabProcess[] = [];
  for (const port of srv.ports) {
    const workDir = join(ctx.dir, `${srv.name}-${port}`);
    mkdirSync(workDir, { recursive: true });
    started.push(
      await startInNetns({
        name: `redis-server ${srv.name}:${port}`,
        ns,
        argv: redisArgv(srv, port, workDir),
        logFile: join(ctx.dir, `${srv.name}-${port}.log`),
        ready: REDIS_READY,
        cgroup: ctx.cgroup,
      }),
    );
  }
  return started;
}

/** MariaDB from a datadir template prepared once per process and copied per server. */
export async function startMariadb(name: string, ns: string, bindAddress: string, port: number, ctx: ServerContext): Promise<LabProcess> {
  const template = await prepareMariadbTemplate(ctx.cacheDir);
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  // The datadir (about 90 MB) is scratch, outside the run directory: teardown and lab down remove
  // /tmp/<prefix>-*, so run directories stay small (logs and evidence only).
  const datadir = join(tmpdir(), `${ctx.plan.prefix}-${name}`, 'data');
  copyDatadir(template, datadir);
  return startInNetns({
    name: `mariadbd ${name}`,
    ns,
    // A Unix socket path is limited to 107 bytes, so it lives in /tmp, named with the run prefix (lab down sweeps it).
    argv: mariadbArgv({
      datadir,
      bindAddress,
      port,
      socket: join(tmpdir(), `${ctx.plan.prefix}-${name}.sock`),
      pidFile: join(dir, 'mysqld.pid'),
    }),
    logFile: join(ctx.dir, `${name}.log`),
    ready: MARIADB_READY,
    cgroup: ctx.cgroup,
    readyOnStderr: true,
    readyTimeoutMs: 30_000,
  });
}

/** The httpbin-like server; HTTPS listeners hold a lab-CA certificate for the server's hostnames. */
async function startHttpbin(srv: ExternalServer, ns: string, ctx: ServerContext): Promise<LabProcess> {
  const dir = join(ctx.dir, srv.name);
  mkdirSync(dir, { recursive: true });
  const names = srv.hostnames.length > 0 ? srv.hostnames : srv.addresses;
  const tls = srv.kind === 'https' ? await issueServerCert(ctx.ca, dir, names) : undefined;
  const listen = srv.addresses.flatMap((address) =>
    srv.ports.map((port) => ({ address, port, ...(tls ? { tls: { certFile: tls.certFile, keyFile: tls.keyFile } } : {}) })),
  );
  const config = join(dir, 'httpbin.json');
  writeFileSync(config, JSON.stringify({ listen, name: names[0] }, null, 2));
  return startInNetns({
    name: `${srv.kind} server ${srv.name}`,
    ns,
    argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/servers/httpbin.ts'), config],
    logFile: join(ctx.dir, `${srv.name}.log`),
    ready: /^READY$/,
    cgroup: ctx.cgroup,
  });
}

export async function startExternalServers(
  servers: ExternalServer[],
  ctx: ServerContext,
  onStarted: (p: LabProcess) => void,
): Promise<void> {
  mkdirSync(ctx.dir, { recursive: true });
  for (const srv of servers) {
    const ns = ctx.plan.namespaces.find((n) => n.role === 'external' && n.owner === srv.name)!.name;
    if (srv.kind === 'redis') (await startRedis(srv, ns, ctx)).forEach(onStarted);
    else if (srv.kind === 'mysql') onStarted(await startMariadb(srv.name, ns, srv.addresses[0]!, srv.ports[0] ?? 3306, ctx));
    else onStarted(await startHttpbin(srv, ns, ctx));
    ctx.progress.step(
      `external ${srv.kind} ${srv.name} on ${srv.addresses.join(',')}:${srv.ports.join(',')}${srv.hostnames.length ? ` (${srv.hostnames.join(', ')})` : ''}`,
    );
  }
}

/** An in-mesh server inside its pod, listening on all addresses so the sidecar can hand inbound connections over. */
export async function startPodServer(w: Workload, ns: string, ctx: ServerContext): Promise<LabProcess | undefined> {
  if (!w.server) return undefined;
  const p = await startMariadb(`pod-${w.name}-mysql`, ns, '0.0.0.0', w.server.port, ctx);
  ctx.progress.step(`pod ${w.name}: ${w.server.kind} server on :${w.server.port}`);
  return p;
}

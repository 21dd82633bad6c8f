/**
 * Redis (seed 000's cluster on 10.0.0.6:7000-7003): one redis-server per port, in the lab and in
 * the kind backend's container.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import type { ServerContext, ServerSpec, ServerType } from './serverType.ts';

/** What redis-server prints once it accepts connections (the lab waits for it; so does the kind backend's container). */
export const REDIS_READY = /Ready to accept connections/;

/** The official image; its redis-server prints REDIS_READY as Debian's does. */
const REDIS_IMAGE = 'docker.io/library/redis:7.4';

function redisArgv(srv: ServerSpec, port: number, dir: string): string[] {
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

async function startInLab(srv: ServerSpec, ns: string, ctx: ServerContext): Promise<LabProcess[]> {
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

/**
 * One server per port in the foreground of one shell, so their logs are the container's. The ports
 * and the password reach the fixed script as environment variables: no scenario value is pasted
 * into it.
 */
const REDIS_SCRIPT =
  'for p in $REDIS_PORTS; do redis-server --port "$p" --protected-mode no --save "" --appendonly no ${REDIS_PASSWORD:+--requirepass "$REDIS_PASSWORD"} & done; wait';

export const redis: ServerType = {
  name: 'redis',
  summary: 'redis-server per port',
  startInLab,
  image: REDIS_IMAGE,
  container: (srv) => ({
    env: { REDIS_PORTS: srv.ports.join(' '), ...(srv.password ? { REDIS_PASSWORD: srv.password } : {}) },
    command: ['sh', '-c', REDIS_SCRIPT],
    ready: { line: REDIS_READY, times: srv.ports.length },
    tls: false,
  }),
  defaultProbe: (host, port) => ({ redis: { host, port } }),
  portNames: ['redis'],
  wellKnownPort: (port) => port === 6379 || (port >= 7000 && port <= 7005),
};

/**
 * External servers, started as real processes in their external-host namespace. Redis: one
 * redis-server per port (seed 000's cluster on 7000-7003), with requirepass and no persistence.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from '../backend.ts';
import type { ExternalServer } from '../scenario/schema.ts';
import { startInNetns, type LabProcess } from './processes.ts';
import type { LabPlan } from './topology.ts';

function redisArgv(srv: ExternalServer, port: number, dir: string): string[] {
  return [
    'redis-server',
    '--bind', ...srv.addresses,
    '--port', String(port),
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--daemonize', 'no',
    '--dir', dir,
    ...(srv.password ? ['--requirepass', srv.password] : []),
  ];
}

export async function startServers(servers: ExternalServer[], plan: LabPlan, dir: string, progress: Progress): Promise<LabProcess[]> {
  const started: LabProcess[] = [];
  mkdirSync(dir, { recursive: true });
  for (const srv of servers) {
    const ns = plan.namespaces.find((n) => n.role === 'external' && n.owner === srv.name)!;
    for (const port of srv.ports) {
      const workDir = join(dir, `${srv.name}-${port}`);
      mkdirSync(workDir, { recursive: true });
      started.push(
        await startInNetns({
          name: `redis-server ${srv.name}:${port}`,
          ns: ns.name,
          argv: redisArgv(srv, port, workDir),
          logFile: join(dir, `${srv.name}-${port}.log`),
          readyLine: /Ready to accept connections/,
        }),
      );
    }
    progress.step(`external ${srv.kind} ${srv.name} on ${srv.addresses.join(',')}:${srv.ports.join(',')}`);
  }
  return started;
}

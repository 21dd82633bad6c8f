/**
 * Servers, started as real processes in lab namespaces: external ones in their external-host
 * namespace, each by its kind's module (servers/registry.ts), and in-mesh ones inside their pod
 * (seed 002's mysql-server), behind that pod's sidecar.
 */
import { mkdirSync } from 'node:fs';
import type { Progress } from '../backend/backend.ts';
import type { ExternalServer, Workload } from '../scenario/schema.ts';
import type { LabProcess } from '../proc/processes.ts';
import type { LabPlan } from './topology.ts';
import { startMariadb } from '../servers/mariadb.ts';
import { serverType } from '../servers/registry.ts';
import type { ServerContext } from '../servers/serverType.ts';

export interface LabServerContext extends ServerContext {
  plan: LabPlan;
  progress: Progress;
}

export async function startExternalServers(
  servers: ExternalServer[],
  ctx: LabServerContext,
  onStarted: (p: LabProcess) => void,
): Promise<void> {
  mkdirSync(ctx.dir, { recursive: true });
  for (const srv of servers) {
    const ns = ctx.plan.namespaces.find((n) => n.role === 'external' && n.owner === srv.name)!.name;
    (await serverType(srv.kind).startInLab(srv, ns, ctx)).forEach(onStarted);
    ctx.progress.step(
      `external ${srv.kind} ${srv.name} on ${srv.addresses.join(',')}:${srv.ports.join(',')}${srv.hostnames.length ? ` (${srv.hostnames.join(', ')})` : ''}`,
    );
  }
}

/** An in-mesh server inside its pod, listening on all addresses so the sidecar can hand inbound connections over. */
export async function startPodServer(w: Workload, ns: string, ctx: LabServerContext): Promise<LabProcess | undefined> {
  if (!w.server) return undefined;
  const p = await startMariadb(`pod-${w.name}-mysql`, ns, '0.0.0.0', w.server.port, ctx);
  ctx.progress.step(`pod ${w.name}: ${w.server.kind} server on :${w.server.port}`);
  return p;
}

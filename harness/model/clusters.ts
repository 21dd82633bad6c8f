/**
 * Outbound clusters as istiod builds them (pilot/pkg/networking/core/cluster_builder.go): the two special clusters plus one
 * `outbound|PORT||host` cluster per service port.
 */
import type { IstioEra } from '../scenario/istioVersion.ts';
import type { MeshService } from './meshServices.ts';
import type { Cluster } from './types.ts';

/** Mesh connectTimeout default: 10 s. */
export const CONNECT_TIMEOUT_MS = 10_000;

export const PASSTHROUGH = 'PassthroughCluster';
export const BLACKHOLE = 'BlackHoleCluster';

export function altStatName(name: string, era: IstioEra): string {
  return era === 'modern' ? `${name};` : name;
}

export function serviceClusterName(port: number, hostname: string): string {
  return `outbound|${port}||${hostname}`;
}

export function buildClusters(services: MeshService[], era: IstioEra): Cluster[] {
  const special: Cluster[] = [
    {
      name: PASSTHROUGH,
      type: 'ORIGINAL_DST',
      altStatName: altStatName(PASSTHROUGH, era),
      endpoints: [],
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    },
    { name: BLACKHOLE, type: 'STATIC', altStatName: altStatName(BLACKHOLE, era), endpoints: [], connectTimeoutMs: CONNECT_TIMEOUT_MS },
  ];
  const byName = new Map<string, Cluster>();
  for (const svc of services) {
    for (const p of svc.ports) {
      if (p.protocol === 'UDP') continue;
      const name = serviceClusterName(p.port, svc.hostname);
      if (byName.has(name)) continue; // the oldest service wins a hostname+port collision
      byName.set(name, {
        name,
        type: svc.clusterType,
        altStatName: altStatName(name, era),
        endpoints: svc.clusterType === 'ORIGINAL_DST' ? [] : (svc.endpoints.get(p.port) ?? []),
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        service: `${svc.kind} ${svc.hostname}`,
      });
    }
  }
  return [...special, ...byName.values()];
}

/**
 * The Services and Endpoints the lab itself acts on, besides istiod: names in the pods' hosts files
 * and the kube-proxy DNAT for clients without a sidecar (harness/lab/topology.ts). The `mesh:`
 * shorthand's, plus the ones the scenario gives verbatim, read into the same shape. An ExternalName
 * Service has no address (istiod alone reads it); a ClusterIP Service must say its clusterIP, since
 * no API server allocates one in the lab (scenario/load.ts refuses one that does not).
 */
import type { Endpoints, Scenario, Service } from './schema.ts';

interface VerbatimServiceSpec {
  type?: string;
  clusterIP?: string;
  selector?: Record<string, string>;
  ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: 'TCP' | 'UDP'; appProtocol?: string }>;
}

interface VerbatimSubset {
  addresses?: Array<{ ip: string }>;
  ports?: Array<{ name?: string; port: number }>;
}

export function labServices(s: Scenario): Service[] {
  const verbatim = s.objects
    .filter((o) => o.apiVersion === 'v1' && o.kind === 'Service')
    .flatMap((o): Service[] => {
      const spec = (o.spec ?? {}) as VerbatimServiceSpec;
      if ((spec.type ?? 'ClusterIP') !== 'ClusterIP' || spec.clusterIP === undefined) return [];
      return [
        {
          name: o.metadata.name,
          namespace: o.metadata.namespace ?? 'default',
          clusterIP: spec.clusterIP,
          ...(spec.selector ? { selector: spec.selector } : {}),
          ports: (spec.ports ?? []).map((p) => ({
            name: p.name ?? '',
            port: p.port,
            ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
            protocol: p.protocol ?? 'TCP',
            ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
          })),
        },
      ];
    });
  return [...s.mesh.services, ...verbatim];
}

export function labEndpoints(s: Scenario): Endpoints[] {
  const verbatim = s.objects
    .filter((o) => o.apiVersion === 'v1' && o.kind === 'Endpoints')
    .flatMap((o): Endpoints[] => {
      const first = ((o as { subsets?: VerbatimSubset[] }).subsets ?? [])[0];
      if (!first?.addresses?.length) return [];
      return [
        {
          name: o.metadata.name,
          namespace: o.metadata.namespace ?? 'default',
          addresses: first.addresses.map((a) => a.ip),
          ports: (first.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port })),
        },
      ];
    });
  return [...s.mesh.endpoints, ...verbatim];
}

/** The ExternalName Services the scenario gives: cluster DNS answers their names with a CNAME to externalName. */
export function externalNameServices(s: Scenario): Array<{ name: string; namespace: string; externalName: string }> {
  return s.objects.flatMap((o) => {
    if (o.apiVersion !== 'v1' || o.kind !== 'Service') return [];
    const spec = (o.spec ?? {}) as VerbatimServiceSpec & { externalName?: string };
    return spec.type === 'ExternalName' && spec.externalName
      ? [{ name: o.metadata.name, namespace: o.metadata.namespace ?? 'default', externalName: spec.externalName }]
      : [];
  });
}

/** A verbatim ClusterIP Service without a clusterIP: the lab cannot allocate one as an API server would. */
export function servicesWithoutClusterIP(s: Scenario): number[] {
  return s.objects.flatMap((o, i) => {
    if (o.apiVersion !== 'v1' || o.kind !== 'Service') return [];
    const spec = (o.spec ?? {}) as VerbatimServiceSpec;
    return (spec.type ?? 'ClusterIP') === 'ClusterIP' && spec.clusterIP === undefined ? [i] : [];
  });
}

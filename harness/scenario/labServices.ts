/**
 * The Services and Endpoints the lab itself acts on, besides istiod: names in the pods' hosts files
 * and the kube-proxy DNAT for clients without a sidecar (harness/lab/topology.ts). The `mesh:`
 * shorthand's, plus the ones the scenario gives verbatim, read into the same shape. An ExternalName
 * Service has no address (istiod alone reads it); any other must say its clusterIP, since
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

/** Every Service type but ExternalName has a cluster IP (NodePort and LoadBalancer build on ClusterIP). */
const hasClusterIP = (spec: VerbatimServiceSpec) => (spec.type ?? 'ClusterIP') !== 'ExternalName';

/**
 * A named targetPort, as the endpoints controller resolves it: the containerPort of that name in
 * the pods the selector picks (the first that has it); a number as it is.
 */
function targetPortOf(s: Scenario, namespace: string, spec: VerbatimServiceSpec, p: { targetPort?: number | string }): number | undefined {
  if (typeof p.targetPort !== 'string') return p.targetPort;
  const selector = Object.entries(spec.selector ?? {});
  const pods = s.workloads.filter((w) => w.namespace === namespace && selector.length > 0 && selector.every(([k, v]) => w.labels[k] === v));
  return pods.flatMap((w) => w.ports.filter((c) => c.name === p.targetPort).map((c) => c.containerPort))[0];
}

export function labServices(s: Scenario): Service[] {
  const verbatim = s.objects
    .filter((o) => o.apiVersion === 'v1' && o.kind === 'Service')
    .flatMap((o): Service[] => {
      const spec = (o.spec ?? {}) as VerbatimServiceSpec;
      if (!hasClusterIP(spec) || spec.clusterIP === undefined) return [];
      const namespace = o.metadata.namespace ?? 'default';
      return [
        {
          name: o.metadata.name,
          namespace,
          clusterIP: spec.clusterIP,
          ...(spec.selector ? { selector: spec.selector } : {}),
          ports: (spec.ports ?? []).map((p) => ({
            name: p.name ?? '',
            port: p.port,
            ...((t) => (t !== undefined ? { targetPort: t } : {}))(targetPortOf(s, namespace, spec, p)),
            protocol: p.protocol ?? 'TCP',
            ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
          })),
        },
      ];
    });
  return [...s.mesh.services, ...verbatim];
}

interface VerbatimSlice {
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ name?: string; port?: number }>;
}

/** A verbatim EndpointSlice's ready addresses and ports, under the Service it belongs to. */
function sliceEndpoints(s: Scenario): Endpoints[] {
  return s.objects
    .filter((o) => o.apiVersion === 'discovery.k8s.io/v1' && o.kind === 'EndpointSlice')
    .flatMap((o): Endpoints[] => {
      const service = o.metadata.labels?.['kubernetes.io/service-name'];
      const slice = o as unknown as VerbatimSlice;
      const addresses = (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses ?? []);
      const ports = (slice.ports ?? []).filter((p) => p.port !== undefined).map((p) => ({ name: p.name ?? '', port: p.port! }));
      return service && addresses.length > 0 && ports.length > 0
        ? [{ name: service, namespace: o.metadata.namespace ?? 'default', addresses, ports }]
        : [];
    });
}

/** One entry per subset of a verbatim Endpoints (each subset has its own addresses and ports), and per EndpointSlice. */
export function labEndpoints(s: Scenario): Endpoints[] {
  const verbatim = s.objects
    .filter((o) => o.apiVersion === 'v1' && o.kind === 'Endpoints')
    .flatMap((o): Endpoints[] =>
      ((o as { subsets?: VerbatimSubset[] }).subsets ?? [])
        .filter((sub) => sub.addresses?.length)
        .map((sub) => ({
          name: o.metadata.name,
          namespace: o.metadata.namespace ?? 'default',
          addresses: sub.addresses!.map((a) => a.ip),
          ports: (sub.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port })),
        })),
    );
  return [...s.mesh.endpoints, ...verbatim, ...sliceEndpoints(s)];
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
    return hasClusterIP(spec) && spec.clusterIP === undefined ? [i] : [];
  });
}

/**
 * The service registry as one sidecar sees it: Kubernetes Services and ServiceEntries normalised into
 * one shape (hostname, VIPs, ports with their protocol, how endpoints are found), filtered by
 * exportTo, oldest first, as istiod orders them before building listeners.
 */
import type { MeshConfig, Workload } from '../scenario/schema.ts';
import { kubernetesPortProtocol, serviceEntryPortProtocol } from './protocol.ts';
import type { ClusterType, Endpoint, Protocol } from './types.ts';

export interface MeshServicePort {
  name: string;
  port: number;
  protocol: Protocol;
  targetPort: number;
}

export interface MeshService {
  hostname: string;
  namespace: string;
  kind: 'Service' | 'ServiceEntry';
  /** Single-IP VIPs (ClusterIP, or SE addresses that are one IP or a /32). */
  vips: string[];
  /** SE addresses that are real CIDRs: they become prefix_ranges on 0.0.0.0_PORT. */
  cidrs: string[];
  headless: boolean;
  ports: MeshServicePort[];
  clusterType: ClusterType;
  /** Endpoint addresses per service port number. */
  endpoints: Map<number, Endpoint[]>;
  /** Index in the scenario: Istio processes services oldest first. */
  order: number;
}

export function k8sHostname(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** exportTo: "*" everyone, "." own namespace, "~" nobody, or explicit namespaces. */
function visibleTo(exportTo: string[], ownNamespace: string, proxyNamespace: string): boolean {
  return exportTo.some((e) => e === '*' || (e === '.' && ownNamespace === proxyNamespace) || e === proxyNamespace);
}

const SE_RESOLUTION: Record<string, ClusterType> = {
  NONE: 'ORIGINAL_DST',
  STATIC: 'EDS',
  DNS: 'STRICT_DNS',
  DNS_ROUND_ROBIN: 'STRICT_DNS',
};

/** Pods a selector picks: same namespace, every selector label present with the same value. */
export function selectedWorkloads(selector: Record<string, string> | undefined, namespace: string, workloads: Workload[]): Workload[] {
  if (!selector || Object.keys(selector).length === 0) return [];
  return workloads.filter((w) => w.namespace === namespace && Object.entries(selector).every(([k, v]) => w.labels[k] === v));
}

function fromKubernetes(mesh: MeshConfig, workloads: Workload[]): MeshService[] {
  return mesh.services.map((svc, n) => {
    const eps = mesh.endpoints.find((e) => e.name === svc.name && e.namespace === svc.namespace);
    const pods = selectedWorkloads(svc.selector, svc.namespace, workloads);
    const endpoints = new Map<number, Endpoint[]>();
    for (const p of svc.ports) {
      // Endpoints ports are matched to Service ports by name, as kube-proxy and istiod do.
      const epPort = eps?.ports.find((q) => q.name === p.name) ?? (eps?.ports.length === 1 ? eps.ports[0] : undefined);
      const manual = eps && epPort ? eps.addresses.map((address) => ({ address, port: epPort.port })) : [];
      // A selector Service gets its endpoints from the pods it selects (the endpoints controller's job).
      endpoints.set(p.port, [...manual, ...pods.map((w) => ({ address: w.ip, port: p.targetPort ?? p.port }))]);
    }
    return {
      hostname: k8sHostname(svc.name, svc.namespace),
      namespace: svc.namespace,
      kind: 'Service' as const,
      vips: svc.clusterIP === 'None' ? [] : [svc.clusterIP],
      cidrs: [],
      headless: svc.clusterIP === 'None',
      ports: svc.ports.map((p) => ({
        name: p.name,
        port: p.port,
        protocol: kubernetesPortProtocol(p),
        targetPort: p.targetPort ?? p.port,
      })),
      clusterType: 'EDS' as const,
      endpoints,
      order: svc.creationOrder ?? n,
    };
  });
}

function fromServiceEntries(mesh: MeshConfig, proxyNamespace: string, offset: number): MeshService[] {
  return mesh.serviceEntries
    .filter((se) => visibleTo(se.exportTo, se.namespace, proxyNamespace))
    .flatMap((se, n) =>
      se.hosts.map((host) => {
        const single = se.addresses.filter((a) => !a.includes('/') || a.endsWith('/32')).map((a) => a.replace(/\/32$/, ''));
        const endpoints = new Map<number, Endpoint[]>();
        for (const p of se.ports) {
          const listed = se.endpoints.map((e) => ({ address: e.address, port: e.ports?.[p.name] ?? p.targetPort ?? p.number }));
          // resolution DNS without endpoints: the hosts themselves are the DNS names to resolve.
          const dnsHost = se.resolution.startsWith('DNS') && listed.length === 0 ? [{ address: host, port: p.targetPort ?? p.number }] : [];
          endpoints.set(p.number, [...listed, ...dnsHost]);
        }
        return {
          hostname: host,
          namespace: se.namespace,
          kind: 'ServiceEntry' as const,
          vips: single,
          cidrs: se.addresses.filter((a) => a.includes('/') && !a.endsWith('/32')),
          // NONE with endpoints and no addresses: istiod builds one epIP_PORT listener per endpoint.
          headless: se.resolution === 'NONE' && se.endpoints.length > 0 && se.addresses.length === 0,
          ports: se.ports.map((p) => ({
            name: p.name,
            port: p.number,
            protocol: serviceEntryPortProtocol(p.protocol),
            targetPort: p.targetPort ?? p.number,
          })),
          clusterType: SE_RESOLUTION[se.resolution] ?? 'ORIGINAL_DST',
          endpoints,
          order: offset + n,
        };
      }),
    );
}

/** The services a proxy in `proxyNamespace` can see, oldest first. */
export function visibleServices(mesh: MeshConfig, proxyNamespace: string, workloads: Workload[] = []): MeshService[] {
  const k8s = fromKubernetes(mesh, workloads);
  const all = [...k8s, ...fromServiceEntries(mesh, proxyNamespace, k8s.length)];
  return all.sort((a, b) => a.order - b.order);
}

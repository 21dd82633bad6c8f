/**
 * Everything one sidecar is configured with, computed the way istiod would from the scenario's mesh
 * configuration. Pure: the harness writes the result to a file for the sidecar process.
 */
import type { Scenario, VirtualService, Workload } from '../scenario/schema.ts';
import type { IstioVersion } from '../scenario/istioVersion.ts';
import { buildClusters } from './clusters.ts';
import { buildListeners } from './listeners.ts';
import { selectedWorkloads, visibleServices } from './meshServices.ts';
import type { InboundPort, ProxyConfig } from './types.ts';
import type { IstioEra } from '../scenario/istioVersion.ts';

/** Simplifications of the sidecar model that hold for every version. */
const MODEL_NOTES = {
  inMesh:
    'sidecar-to-sidecar traffic is plaintext in the lab; real Istio would use auto mTLS (ISTIO_MUTUAL) between the two sidecars, which changes no listener, cluster or client outcome asserted here',
  http: 'the HTTP connection manager opens one upstream connection per request (Envoy pools them), so HTTP probes may show more upstream conntrack legs than real Istio',
};

const LEGACY_NOTES = [
  'Istio 1.4-1.6 behaviour is modelled from the seed documents: listener and cluster shapes seen there are reproduced; stats, access-log fields and the virtualOutbound loop guard of that era are inferred, not observed',
];

function visibleVirtualServices(vss: VirtualService[], namespace: string): VirtualService[] {
  return vss.filter((v) => v.exportTo.some((e) => e === '*' || (e === '.' && v.namespace === namespace) || e === namespace));
}

/** The ports Services declare for this pod: inbound capture hands them to the local app. */
function inboundPorts(scenario: Scenario, workload: Workload, era: IstioEra): InboundPort[] {
  const ports = new Map<number, InboundPort>();
  for (const svc of scenario.mesh.services) {
    if (!selectedWorkloads(svc.selector, svc.namespace, [workload]).length) continue;
    for (const p of svc.ports) {
      const target = p.targetPort ?? p.port;
      const host = `${svc.name}.${svc.namespace}.svc.cluster.local`;
      ports.set(target, { port: target, cluster: era === 'modern' ? `inbound|${target}||` : `inbound|${p.port}|${p.name}|${host}` });
    }
  }
  return [...ports.values()];
}

export function buildProxyConfig(scenario: Scenario, istio: IstioVersion, workload: Workload): ProxyConfig {
  const services = visibleServices(scenario.mesh, workload.namespace, scenario.workloads);
  const policy = scenario.mesh.outboundTrafficPolicy;
  const virtualServices = visibleVirtualServices(scenario.mesh.virtualServices, workload.namespace);
  const built = buildListeners(services, { era: istio.era, policy, podIp: workload.ip, namespace: workload.namespace, virtualServices });
  return {
    era: istio.era,
    istioVersion: istio.text,
    podIp: workload.ip,
    namespace: workload.namespace,
    workload: workload.name,
    policy,
    listeners: built.listeners,
    clusters: buildClusters(services, istio.era),
    routes: built.routes,
    inbound: inboundPorts(scenario, workload, istio.era),
    fidelityNotes: [
      ...(istio.era === 'legacy' ? LEGACY_NOTES : []),
      ...(services.some(
        (s) =>
          s.kind === 'Service' &&
          [...s.endpoints.values()].flat().some((e) => scenario.workloads.some((w) => w.sidecar && w.ip === e.address)),
      )
        ? [MODEL_NOTES.inMesh]
        : []),
      ...(built.routes.length > 0 ? [MODEL_NOTES.http] : []),
      ...built.notes,
    ],
  };
}

/**
 * Everything one sidecar is configured with, computed the way istiod would from the scenario's mesh
 * configuration. Pure: the harness writes the result to a file for the sidecar process.
 */
import type { Scenario, Workload } from '../scenario/schema.ts';
import type { IstioVersion } from '../scenario/istioVersion.ts';
import { buildClusters } from './clusters.ts';
import { buildListeners } from './listeners.ts';
import { visibleServices } from './meshServices.ts';
import type { ProxyConfig } from './types.ts';

const LEGACY_NOTES = [
  'Istio 1.4-1.6 behaviour is modelled from the seed documents: listener and cluster shapes seen there are reproduced; stats, access-log fields and the virtualOutbound loop guard of that era are inferred, not observed',
];

export function buildProxyConfig(scenario: Scenario, istio: IstioVersion, workload: Workload): ProxyConfig {
  const services = visibleServices(scenario.mesh, workload.namespace);
  const policy = scenario.mesh.outboundTrafficPolicy;
  const built = buildListeners(services, { era: istio.era, policy, podIp: workload.ip, namespace: workload.namespace });
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
    fidelityNotes: [...(istio.era === 'legacy' ? LEGACY_NOTES : []), ...built.notes],
  };
}

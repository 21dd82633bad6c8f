/**
 * The outbound traffic policy of a scenario, in one place: which mode the mesh has, and which
 * namespaces get the Sidecar the lab generates to carry it.
 *
 * The `mesh.outboundTrafficPolicy` shorthand is carried by one selector-less Sidecar per workload
 * namespace (how the kind backend switches the policy without reinstalling Istio), unless the
 * scenario already has a namespace-wide Sidecar there (two in one namespace would make Istio pick
 * one). A verbatim `meshConfig.outboundTrafficPolicy` is the mesh's own setting, as in the istio
 * ConfigMap: then no Sidecar is generated, since a Sidecar's policy would override the mesh's
 * (pilot/pkg/model/sidecar.go), and only the mesh config carries it.
 */
import type { Scenario } from './schema.ts';

/** The mesh-wide mode: meshConfig's when it has one, else the shorthand's. */
export function outboundMode(s: Scenario): string {
  const given = (s.meshConfig.outboundTrafficPolicy as { mode?: unknown } | undefined)?.mode;
  return typeof given === 'string' ? given : s.mesh.outboundTrafficPolicy;
}

/** Whether the policy comes from a verbatim meshConfig (and no Sidecar carries it). */
export function policyFromMeshConfig(s: Scenario): boolean {
  return s.meshConfig.outboundTrafficPolicy !== undefined;
}

/** The namespaces whose namespace-wide Sidecar the scenario gives itself (shorthand or verbatim). */
function namespacesWithOwnSidecar(s: Scenario): Set<string> {
  const verbatim = s.objects
    .filter((o) => o.kind === 'Sidecar' && !(o.spec as { workloadSelector?: unknown } | undefined)?.workloadSelector)
    .map((o) => o.metadata.namespace ?? 'default');
  const shorthand = s.mesh.sidecars.filter((sc) => !sc.spec.workloadSelector).map((sc) => sc.namespace);
  return new Set([...verbatim, ...shorthand]);
}

/** The namespaces that get the lab's generated Sidecar `default` with the outbound policy. */
export function policySidecarNamespaces(s: Scenario): string[] {
  if (policyFromMeshConfig(s)) return [];
  const own = namespacesWithOwnSidecar(s);
  return [...new Set(s.workloads.map((w) => w.namespace))].sort().filter((n) => !own.has(n));
}

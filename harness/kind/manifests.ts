/**
 * A scenario as the kind backend applies it: the shared objects (harness/k8s/objects.ts) with each
 * workload's pod template in a Deployment, ClusterIPs outside kind's service CIDR left to kind, and
 * the pinned images and stats prefixes. External servers are not here: on kind they are Docker
 * containers (harness/kind/servers.ts) and their addresses reach the manifests through the
 * effective scenario (harness/scenario/addressMapping.ts). Pure: no I/O.
 */
import { Deployment } from 'kubernetes-models/apps/v1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { GivenObject } from '../k8s/givenObjects.ts';
import {
  hashOf,
  LAB_CLUSTER_IP_ANNOTATION,
  SCENARIO_LABEL,
  KIND_SERVICE_CIDR,
  keepsClusterIP,
  meshObjects,
  meta,
  podTemplate,
  sortObjects,
  validateObject,
  type KubeObject,
  type ManifestOptions,
  MANIFEST_OPTIONS,
} from '../k8s/objects.ts';

/** On a Deployment: the hash of its pod template, so that `kubectl get` shows which generation a pod runs. */
export const TEMPLATE_HASH_ANNOTATION = 'egress-lab.io/pod-template-hash';
/** The kinds to delete by SCENARIO_LABEL across namespaces (for what lives in shared namespaces). */
export const LABELLED_KINDS =
  'deployments.apps,services,endpoints,sidecars.networking.istio.io,serviceentries.networking.istio.io,virtualservices.networking.istio.io,destinationrules.networking.istio.io';

/** What the kind backend, its --dry-run and scripts/render-manifests.ts all generate with: the pinned images and stats. */
export const KIND_MANIFEST_OPTIONS: ManifestOptions = { ...MANIFEST_OPTIONS, serviceCIDR: KIND_SERVICE_CIDR };

export interface ClusterIpChange {
  namespace: string;
  name: string;
  /** What the scenario wrote; kind assigns another, which probes dialling this literal must use. */
  clusterIP: string;
}

/**
 * Services whose scenario ClusterIP kind will not keep (most lie in 10.233.0.0/18 or 10.68.0.0/16,
 * outside kind's 10.96.0.0/16). After `kubectl apply` the backend reads the assigned ones and passes
 * {scenario IP → assigned IP} to the runner, whose effective scenario the probes then dial.
 */
export function clusterIpChanges(s: Scenario, serviceCIDR = KIND_SERVICE_CIDR): ClusterIpChange[] {
  return s.mesh.services
    .filter((v) => !keepsClusterIP(v.clusterIP, serviceCIDR))
    .map((v) => ({ namespace: v.namespace, name: v.name, clusterIP: v.clusterIP }));
}

/** Stat names the expectations read that no inclusion prefix lets Envoy emit. */
export function uncoveredStats(s: Scenario, prefixes: string[]): string[] {
  const names = new Set(s.probes.flatMap((p) => Object.keys(p.expect.stats ?? {})));
  return [...names].filter((n) => !prefixes.some((p) => n.startsWith(p))).sort();
}

function deployment(s: Scenario, w: Workload, opts: ManifestOptions): Deployment {
  const template = podTemplate(s, w, opts);
  return new Deployment({
    metadata: meta(s, w.name, w.namespace, { labels: { app: w.name }, annotations: { [TEMPLATE_HASH_ANNOTATION]: hashOf(template) } }),
    spec: {
      replicas: 1,
      // Recreate: never two pods of a workload, so "the pod of app=<name>" is always one pod.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: w.name } },
      template,
    },
  });
}

/**
 * A verbatim object as kind applies it: with the scenario label (kind finds and deletes a
 * scenario's objects by it), and a Service's ClusterIP left to kind where the cluster cannot keep
 * it (keepsClusterIP), as for the shorthand's Services; everything else as written.
 */
function onKind(s: Scenario, o: GivenObject, opts: ManifestOptions): GivenObject {
  const data = o.toJSON();
  data.metadata = { ...data.metadata, labels: { ...data.metadata.labels, [SCENARIO_LABEL]: s.name } };
  const spec = data.spec as { clusterIP?: string; clusterIPs?: string[] } | undefined;
  if (o.kind === 'Service' && spec?.clusterIP !== undefined && !keepsClusterIP(spec.clusterIP, opts.serviceCIDR)) {
    data.metadata.annotations = { ...data.metadata.annotations, [LAB_CLUSTER_IP_ANNOTATION]: spec.clusterIP };
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  return new GivenObject(data);
}

export function scenarioManifests(s: Scenario, opts: ManifestOptions): KubeObject[] {
  const deployments = s.workloads.map((w) => deployment(s, w, opts));
  for (const d of deployments) validateObject(d, s.name);
  const mesh = meshObjects(s, opts).map((o) => (o instanceof GivenObject ? onKind(s, o, opts) : o));
  return sortObjects([...mesh, ...deployments]);
}

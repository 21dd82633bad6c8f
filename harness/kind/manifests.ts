/**
 * A scenario as the kind backend applies it: the shared objects (harness/k8s/objects.ts) with each
 * workload's pod template in a Deployment, ClusterIPs outside kind's service CIDR left to kind, and
 * the pinned images and stats prefixes. External servers are not here: on kind they are Docker
 * containers (harness/kind/servers.ts) and their addresses reach the manifests through the
 * effective scenario (harness/scenario/addressMapping.ts). Pure: no I/O.
 */
import { Deployment } from 'kubernetes-models/apps/v1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { hashOf, KIND_SERVICE_CIDR, keepsClusterIP, meshObjects, meta, podTemplate, sortObjects, validateObject, type KubeObject, type ManifestOptions, MANIFEST_OPTIONS } from '../k8s/objects.ts';

/** On a Deployment: the hash of its pod template (see `podTemplateHash`). */
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

export function scenarioManifests(s: Scenario, opts: ManifestOptions): KubeObject[] {
  const deployments = s.workloads.map((w) => deployment(s, w, opts));
  for (const d of deployments) validateObject(d, s.name);
  return sortObjects([...meshObjects(s, opts), ...deployments]);
}

// ---------------------------------------------------------------------------------------------
// Restarts. istio-init's rules and the sidecar's bootstrap (proxyStatsMatcher) are computed when a
// pod is created, from its annotations and labels; an existing pod never sees a change. Kubernetes
// replaces a Deployment's pods when (and only when) its pod template changes, so comparing two
// generated templates tells the backend whether to wait for new pods and read their names again.

/** A stable hash of a generated Deployment's pod template (key order does not matter). */
export function podTemplateHash(d: Deployment): string {
  return hashOf(d.spec?.template ?? {});
}

type Template = NonNullable<Deployment['spec']>['template'];

function diffKeys(kind: string, a: Record<string, string> = {}, b: Record<string, string> = {}, skip: string[] = []): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !skip.includes(k) && a[k] !== b[k])
    .sort()
    .map((k) => (a[k] === undefined ? `${kind} ${k} added` : b[k] === undefined ? `${kind} ${k} removed` : `${kind} ${k} changed`));
}

/** What differs between two pod templates, in words ("sidecar on → off", "annotation X changed", ...). */
export function templateChanges(previous: Deployment, next: Deployment): string[] {
  const a: Template | undefined = previous.spec?.template;
  const b: Template | undefined = next.spec?.template;
  if (hashOf(a ?? {}) === hashOf(b ?? {})) return [];
  const changes: string[] = [];
  const inject = (t?: Template) =>
    t?.metadata?.annotations?.['sidecar.istio.io/inject'] ?? t?.metadata?.labels?.['sidecar.istio.io/inject'] ?? 'true';
  if (inject(a) !== inject(b)) changes.push(`sidecar ${inject(a) === 'false' ? 'off' : 'on'} → ${inject(b) === 'false' ? 'off' : 'on'}`);
  changes.push(...diffKeys('annotation', a?.metadata?.annotations, b?.metadata?.annotations, ['sidecar.istio.io/inject']));
  changes.push(...diffKeys('label', a?.metadata?.labels, b?.metadata?.labels, ['sidecar.istio.io/inject']));
  const ca = new Map((a?.spec?.containers ?? []).map((c) => [c.name, c]));
  const cb = new Map((b?.spec?.containers ?? []).map((c) => [c.name, c]));
  for (const name of new Set([...ca.keys(), ...cb.keys()])) {
    const x = ca.get(name);
    const y = cb.get(name);
    if (!x || !y) changes.push(`container ${name} ${x ? 'removed' : 'added'}`);
    else if (x.image !== y.image) changes.push(`image of ${name}: ${x.image} → ${y.image}`);
    else if (hashOf(x) !== hashOf(y)) changes.push(`container ${name} changed`);
  }
  const rest = (t?: Template) => ({ ...t?.spec, containers: undefined });
  if (hashOf(rest(a)) !== hashOf(rest(b))) changes.push('pod spec changed');
  return changes.length > 0 ? changes : ['pod template changed'];
}

/** Whether applying `next` over `previous` replaces the pods (and so re-runs injection). */
export function needsRestart(previous: Deployment, next: Deployment): boolean {
  return templateChanges(previous, next).length > 0;
}

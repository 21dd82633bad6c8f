/**
 * Which verbatim objects a scenario may carry, and where each goes. istiod reads Istio's and the
 * Gateway API's kinds from its config store and a few Kubernetes kinds from the cluster
 * (pilot/pkg/serviceregistry/kube/controller: Namespaces, Services, EndpointSlices, Pods; Secrets
 * for credentialName; ServiceAccounts are what a pod's identity names). Every other kind is refused
 * with the reason, rather than accepted and ignored.
 */

/** Where an accepted object goes: istiod's Kubernetes client, its Istio config store, or both (Gateway API, as Istio's own tests give it). */
export type ObjectHome = 'kubernetes' | 'istio' | 'gateway-api';

export type KindVerdict = { home: ObjectHome } | { refused: string };

/** Kubernetes built-in kinds the lab reads, by apiVersion/kind. */
const KUBERNETES_KINDS = new Set([
  'v1/Namespace',
  'v1/Service',
  'v1/Endpoints',
  'v1/ServiceAccount',
  'v1/Secret',
  'discovery.k8s.io/v1/EndpointSlice',
]);

/** Cluster-scoped kinds: no namespace. */
const CLUSTER_SCOPED = new Set(['Namespace', 'GatewayClass']);

const POD_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);

const ISTIO_GROUPS = new Set(['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io']);
const GATEWAY_API_GROUPS = new Set(['gateway.networking.k8s.io', 'gateway.networking.x-k8s.io']);

const REASONS: Record<string, string> = {
  ConfigMap: 'istiod reads only the istio ConfigMap, for its mesh key: give the mesh config as meshConfig:',
  NetworkPolicy: 'the lab enforces no NetworkPolicy',
  CustomResourceDefinition: "the lab already has Istio's and the Gateway API's CRDs, from the pinned Istio module",
  MutatingWebhookConfiguration: "the lab runs Istio's injector decisions itself; webhooks are not called",
  ValidatingWebhookConfiguration: "the lab checks objects with Istio's own validation before running; webhooks are not called",
};

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function kindVerdict(apiVersion: string, kind: string): KindVerdict {
  const group = groupOf(apiVersion);
  if (ISTIO_GROUPS.has(group)) return { home: 'istio' };
  if (GATEWAY_API_GROUPS.has(group)) return { home: 'gateway-api' };
  if (KUBERNETES_KINDS.has(`${apiVersion}/${kind}`)) return { home: 'kubernetes' };
  if (POD_KINDS.has(kind)) {
    return {
      refused:
        'a pod is a workload: declare it under workloads: (name, namespace, ip, labels, annotations, serviceAccount, ports), which the lab runs as a pod with the injector decisions Istio would make',
    };
  }
  const reason = REASONS[kind];
  if (reason) return { refused: reason };
  const known = [...KUBERNETES_KINDS].join(', ');
  return {
    refused: `istiod does not read ${apiVersion} ${kind}, so the lab would ignore it; the lab reads Istio's kinds (${[...ISTIO_GROUPS].join(', ')}), the Gateway API's, and ${known}`,
  };
}

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** "Kind namespace/name", how messages name an object. */
export function objectKey(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/**
 * What two objects may not share: API group, kind, namespace and name (one key for every version
 * of a group), so an Istio Gateway and a Gateway API Gateway of one name are two objects.
 */
export function identityKey(o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${groupOf(o.apiVersion)}/${objectKey(o)}`;
}

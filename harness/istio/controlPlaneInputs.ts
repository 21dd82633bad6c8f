/**
 * What the lab's control plane (istio/cmd/lab-istiod) reads: the objects the kind backend applies
 * (harness/k8s/objects.ts), completed the way a cluster would complete them before istiod sees
 * them, plus the MeshConfig. Pure: the caller writes the three files.
 *
 * - Services get the API server's defaults, which the fake Kubernetes client istiod's test server
 *   uses does not apply (without targetPort = port, a server pod's inbound cluster is `inbound|0||`);
 * - each workload's pod template becomes a Pod, with what Istio's injector adds to a sidecar pod
 *   (labels security.istio.io/tlsMode and service.istio.io/canonical-*) and what the kubelet
 *   reports (status.podIP, Running, Ready);
 * - istiod's Kubernetes controller reads endpoints only from EndpointSlices
 *   (pilot/pkg/serviceregistry/kube/controller/endpointslice.go), so each Service gets the slice
 *   Kubernetes would make: from the pods its selector matches (the EndpointSlice controller), or
 *   mirrored from the scenario's Endpoints for a Service without selector (the mirroring controller).
 */
import { Pod } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { meshObjects, meta, podTemplate, toYaml, validateObject, MANIFEST_OPTIONS } from '../k8s/objects.ts';
import { GivenObject } from '../k8s/givenObjects.ts';
import { selectedWorkloads } from '../model/meshServices.ts';
import { labMeshConfig } from './meshConfig.ts';

/** The lab's one node: where every pod "runs" (spec.nodeName). */
export const LAB_NODE_NAME = 'egress-lab-node';

export interface ControlPlaneInputs {
  /** Namespaces, Pods, Services, Endpoints, EndpointSlices, ServiceAccounts, Secrets; and the Gateway API objects. */
  kubernetes: string;
  /** Istio's kinds, and the Gateway API objects. */
  istio: string;
  /** The `mesh` key of the istio ConfigMap. */
  mesh: string;
  /** istiod's flags the scenario sets (istiod-env.json, which lab-istiod starts with). */
  istiodEnv: Record<string, string>;
}

/** An object as plain JSON, the form both files are written from. */
export interface PlainObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

const GENERATED_ISTIO_KINDS = new Set(['ServiceEntry', 'VirtualService', 'DestinationRule', 'Sidecar']);

/**
 * Which file an object goes to. Gateway API objects go to both, as Istio's own tests give them
 * (pilot/pkg/networking/core/sidecar_simulation_test.go): istiod's gateway controller reads them
 * from the Kubernetes client, its config store from the configs.
 */
function homes(o: ReturnType<typeof meshObjects>[number]): { kubernetes: boolean; istio: boolean } {
  if (o instanceof GivenObject) return { kubernetes: o.home !== 'istio', istio: o.home !== 'kubernetes' };
  const istio = GENERATED_ISTIO_KINDS.has(o.kind);
  return { kubernetes: !istio, istio };
}

export function controlPlaneInputs(s: Scenario): ControlPlaneInputs {
  const mesh = meshObjects(s, MANIFEST_OPTIONS);
  const plain = (o: object) => JSON.parse(JSON.stringify(o)) as PlainObject;
  const kubeObjects = mesh.filter((o) => homes(o).kubernetes).map(plain);
  const pods = s.workloads.map((w) => pod(s, w));
  const slices = endpointSlices(s, kubeObjects);
  for (const o of [...pods, ...slices]) validateObject(o, s.name);
  const kube = [...kubeObjects.map(withApiDefaults), ...pods.map(plain), ...slices.map(plain)];
  const istio = mesh.filter((o) => homes(o).istio).map(plain);
  return { kubernetes: toYaml(kube), istio: toYaml(istio), mesh: labMeshConfig(s).yaml, istiodEnv: { ...s.istiod.env } };
}

/**
 * A Service as the API server stores it: targetPort defaults to port, and a ClusterIP Service gets
 * its ClusterIP lists and families (an ExternalName Service has none).
 */
export function withApiDefaults(o: PlainObject): PlainObject {
  if (o.kind !== 'Service' || !o.spec) return o;
  const spec = o.spec as { type?: string; clusterIP?: string; ports?: Array<{ port: number; targetPort?: number | string }> };
  const type = spec.type ?? 'ClusterIP';
  const ip = spec.clusterIP;
  return {
    ...o,
    spec: {
      ...o.spec,
      type,
      ...(spec.ports ? { ports: spec.ports.map((p) => ({ ...p, targetPort: p.targetPort ?? p.port })) } : {}),
      sessionAffinity: o.spec.sessionAffinity ?? 'None',
      ...(type !== 'ExternalName' && ip && ip !== 'None' ? { clusterIPs: [ip], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' } : {}),
    },
  };
}

/** What Istio's injector adds to a sidecar pod's labels (pkg/kube/labels/labels.go CanonicalService). */
export function injectorLabels(labels: Record<string, string>, workload: string): Record<string, string> {
  return {
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name':
      labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels.app ?? workload,
    'service.istio.io/canonical-revision':
      labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest',
  };
}

function pod(s: Scenario, w: Workload): Pod {
  const template = podTemplate(s, w, MANIFEST_OPTIONS);
  const labels = { ...template.metadata?.labels };
  return new Pod({
    metadata: {
      ...meta(s, w.name, w.namespace, { annotations: { ...template.metadata?.annotations } }),
      labels: { ...labels, ...(w.sidecar ? injectorLabels(labels, w.name) : {}), ...meta(s, w.name).labels },
    },
    spec: { ...template.spec!, nodeName: LAB_NODE_NAME },
    status: { phase: 'Running', podIP: w.ip, podIPs: [{ ip: w.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

interface ServiceSpec {
  selector?: Record<string, string>;
  type?: string;
  ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>;
}
interface EndpointsSubset {
  addresses?: Array<{ ip: string }>;
  ports?: Array<{ name?: string; port: number; protocol?: string }>;
}

/**
 * The slices Kubernetes' controllers would make: for a Service with a selector, from the pods it
 * selects (endpointslice-controller); for one without, mirrored from its Endpoints
 * (endpointslicemirroring-controller, which skips Services that have a selector). Slices the
 * scenario gives itself are already among the objects.
 */
function endpointSlices(s: Scenario, objects: PlainObject[]): EndpointSlice[] {
  const endpoints = objects.filter((o) => o.kind === 'Endpoints');
  // A Service the scenario gives its own slices for (an imported cluster's) gets none made: its controllers made them.
  const sliced = new Set(
    objects
      .filter((o) => o.kind === 'EndpointSlice' && o.metadata.labels?.[SERVICE_NAME_LABEL])
      .map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.labels![SERVICE_NAME_LABEL]}`),
  );
  return objects
    .filter((o) => o.kind === 'Service' && (o.spec as ServiceSpec | undefined)?.type !== 'ExternalName')
    .filter((svc) => !sliced.has(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`))
    .flatMap((svc) => {
      const spec = svc.spec as ServiceSpec;
      const ns = svc.metadata.namespace ?? 'default';
      if (spec.selector) return [selectorSlice(s, svc.metadata.name, ns, spec)];
      const manual = endpoints.find((e) => e.metadata.name === svc.metadata.name && (e.metadata.namespace ?? 'default') === ns);
      return manual ? mirroredSlices(s, manual) : [];
    });
}

/** endpointslicemirroring-controller: one slice per Endpoints subset, named after the Endpoints. */
function mirroredSlices(s: Scenario, e: PlainObject): EndpointSlice[] {
  const subsets = (e.subsets as EndpointsSubset[] | undefined) ?? [];
  const ns = e.metadata.namespace ?? 'default';
  return subsets.map(
    (sub, i) =>
      new EndpointSlice({
        metadata: meta(s, `${e.metadata.name}-mirror${i === 0 ? '' : `-${i}`}`, ns, {
          labels: { [SERVICE_NAME_LABEL]: e.metadata.name, [MANAGED_BY]: 'endpointslicemirroring-controller.k8s.io' },
        }),
        addressType: 'IPv4',
        endpoints: (sub.addresses ?? []).map((a) => ({ addresses: [a.ip], conditions: { ready: true } })),
        ports: (sub.ports ?? []).map((p) => ({
          ...(p.name ? { name: p.name } : {}),
          port: p.port,
          protocol: (p.protocol ?? 'TCP') as 'TCP',
        })),
      }),
  );
}

/** endpointslice-controller: the ready pods the selector matches, on each port's target port. */
function selectorSlice(s: Scenario, name: string, namespace: string, spec: ServiceSpec): EndpointSlice {
  const pods = selectedWorkloads(spec.selector, namespace, s.workloads);
  return new EndpointSlice({
    metadata: meta(s, `${name}-lab`, namespace, {
      labels: { [SERVICE_NAME_LABEL]: name, [MANAGED_BY]: 'endpointslice-controller.k8s.io' },
    }),
    addressType: 'IPv4',
    endpoints: pods.map((w) => ({
      addresses: [w.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: LAB_NODE_NAME,
      targetRef: { kind: 'Pod', namespace: w.namespace, name: w.name },
    })),
    ports: (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: targetPortNumber(p, pods),
      protocol: (p.protocol ?? 'TCP') as 'TCP',
    })),
  });
}

/** A numeric targetPort, or a named one looked up in the selected pods' container ports, else the port. */
function targetPortNumber(p: { port: number; targetPort?: number | string }, pods: Workload[]): number {
  if (typeof p.targetPort === 'number') return p.targetPort;
  if (typeof p.targetPort === 'string') {
    for (const w of pods) {
      const found = w.ports.find((c) => c.name === p.targetPort);
      if (found) return found.containerPort;
    }
  }
  return p.port;
}

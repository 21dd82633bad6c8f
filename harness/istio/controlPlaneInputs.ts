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
import { stringify } from 'yaml';
import { Pod, Service } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { meshObjects, meta, podTemplate, toYaml, validateObject, type KubeObject, MANIFEST_OPTIONS } from '../k8s/objects.ts';
import { selectedWorkloads } from '../model/meshServices.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';

/** The lab's one node: where every pod "runs" (spec.nodeName). */
export const LAB_NODE_NAME = 'egress-lab-node';

export interface ControlPlaneInputs {
  /** Namespaces, Pods, Services, Endpoints, EndpointSlices. */
  kubernetes: string;
  /** ServiceEntries, VirtualServices, DestinationRules, Sidecars. */
  istio: string;
  /** The `mesh` key of the istio ConfigMap. */
  mesh: string;
}

const ISTIO_KINDS = new Set(['ServiceEntry', 'VirtualService', 'DestinationRule', 'Sidecar']);

export function controlPlaneInputs(s: Scenario): ControlPlaneInputs {
  const mesh = meshObjects(s, MANIFEST_OPTIONS);
  const pods = s.workloads.map((w) => pod(s, w));
  const slices = endpointSlices(s);
  for (const o of [...pods, ...slices]) validateObject(o, s.name);
  const kube = [...mesh.filter((o) => !ISTIO_KINDS.has(o.kind)).map(withApiDefaults), ...pods, ...slices];
  const istio = mesh.filter((o) => ISTIO_KINDS.has(o.kind));
  return { kubernetes: toYaml(kube), istio: toYaml(istio), mesh: meshConfigYaml(s) };
}

/**
 * The mesh config: the kind backend's install (accessLogFile /dev/stdout, the stats matcher) with
 * the scenario's outbound policy, and off what upstream Envoy cannot run: no default metrics
 * provider (which would add istio.stats filters, pilot/pkg/model/telemetry.go). Tracing stays at
 * Istio's default (enableTracing true, no tracer), which upstream Envoy runs as is; it is what makes
 * Envoy send a route's decorator upstream as x-envoy-decorator-operation.
 */
export function meshConfigYaml(s: Scenario): string {
  return stringify({
    accessLogFile: '/dev/stdout',
    defaultProviders: { metrics: [] },
    outboundTrafficPolicy: { mode: s.mesh.outboundTrafficPolicy },
    defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES } },
  });
}

/** A Service as the API server stores it: targetPort defaults to port, the ClusterIP lists and families are filled in. */
function withApiDefaults(o: KubeObject): KubeObject {
  if (o.kind !== 'Service' || !o.spec) return o;
  const spec = o.spec;
  const ip = spec.clusterIP;
  return new Service({
    ...o,
    spec: {
      ...spec,
      ports: spec.ports?.map((p) => ({ ...p, targetPort: p.targetPort ?? p.port })),
      sessionAffinity: 'None',
      ...(ip && ip !== 'None' ? { clusterIPs: [ip], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' } : {}),
    },
  });
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

function endpointSlices(s: Scenario): EndpointSlice[] {
  return s.mesh.services.flatMap((svc) => {
    const manual = s.mesh.endpoints.find((e) => e.name === svc.name && e.namespace === svc.namespace);
    if (manual) return [mirroredSlice(s, manual)];
    if (!svc.selector) return [];
    return [selectorSlice(s, svc)];
  });
}

/** endpointslicemirroring-controller: one slice per Endpoints subset, named after the Endpoints. */
function mirroredSlice(s: Scenario, e: Scenario['mesh']['endpoints'][number]): EndpointSlice {
  return new EndpointSlice({
    metadata: meta(s, `${e.name}-mirror`, e.namespace, {
      labels: { [SERVICE_NAME_LABEL]: e.name, [MANAGED_BY]: 'endpointslicemirroring-controller.k8s.io' },
    }),
    addressType: 'IPv4',
    endpoints: e.addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: e.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: 'TCP' })),
  });
}

/** endpointslice-controller: the ready pods the selector matches, on each port's target port. */
function selectorSlice(s: Scenario, svc: Scenario['mesh']['services'][number]): EndpointSlice {
  const pods = selectedWorkloads(svc.selector, svc.namespace, s.workloads);
  return new EndpointSlice({
    metadata: meta(s, `${svc.name}-lab`, svc.namespace, {
      labels: { [SERVICE_NAME_LABEL]: svc.name, [MANAGED_BY]: 'endpointslice-controller.k8s.io' },
    }),
    addressType: 'IPv4',
    endpoints: pods.map((w) => ({
      addresses: [w.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: LAB_NODE_NAME,
      targetRef: { kind: 'Pod', namespace: w.namespace, name: w.name },
    })),
    ports: svc.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.targetPort ?? p.port, protocol: p.protocol })),
  });
}

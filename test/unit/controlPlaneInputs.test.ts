import test from 'ava';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { controlPlaneInputs, injectorLabels, LAB_NODE_NAME } from '../../harness/istio/controlPlaneInputs.ts';
import { labMeshConfig } from '../../harness/istio/meshConfig.ts';
import { loadScenarioFile, parseScenario } from '../../harness/scenario/load.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

function objects(name: string): { kube: Obj[]; istio: Obj[]; mesh: Record<string, unknown> } {
  const inputs = controlPlaneInputs(loadScenarioFile(name).scenario);
  const docs = (text: string) =>
    parseAllDocuments(text)
      .map((d) => d.toJS() as Obj)
      .filter(Boolean);
  return { kube: docs(inputs.kubernetes), istio: docs(inputs.istio), mesh: parseYaml(inputs.mesh) as Record<string, unknown> };
}

const find = (list: Obj[], kind: string, name: string) => {
  const o = list.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${list.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  // Pods, Services and Sidecars have a spec; EndpointSlices do not.
  return o as Obj & { spec?: Record<string, unknown> };
};

test('lab-istiod reads the two files split: Kubernetes objects, and Istio configs only', (t) => {
  const { kube, istio } = objects('mysql-3306-foreign-serviceentry-modern');
  t.deepEqual([...new Set(istio.map((o) => o.kind))].sort(), ['ServiceEntry', 'Sidecar']);
  t.deepEqual([...new Set(kube.map((o) => o.kind))].sort(), ['EndpointSlice', 'Namespace', 'Pod', 'Service']);
});

test('a sidecar pod is the pod template with what the injector and the kubelet add', (t) => {
  const pod = find(objects('mysql-3306-foreign-serviceentry-modern').kube, 'Pod', 'mysql-server');
  t.is(pod.metadata.namespace, 'demo1');
  t.like(pod.metadata.labels, {
    app: 'mysql-server',
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name': 'mysql-server',
    'service.istio.io/canonical-revision': 'latest',
    'egress-lab.io/scenario': 'mysql-3306-foreign-serviceentry-modern',
  });
  t.is(pod.spec?.nodeName, LAB_NODE_NAME);
  t.is(pod.spec?.serviceAccountName, 'default');
  t.deepEqual(pod.status, {
    phase: 'Running',
    podIP: '172.20.0.30',
    podIPs: [{ ip: '172.20.0.30' }],
    conditions: [{ type: 'Ready', status: 'True' }],
  });
});

test('a pod without sidecar gets no injector labels (no tlsMode: clients send it plaintext)', (t) => {
  const { scenario } = parseScenario(
    `name: plain
description: unit test
istio: "1.30"
workloads:
  - { name: legacy, ip: 10.64.192.20, sidecar: false, labels: { app: legacy } }
probes:
  - { name: p, from: legacy, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`,
    'plain.yaml',
  );
  const pods = parseAllDocuments(controlPlaneInputs(scenario).kubernetes).map((d) => d.toJS() as Obj);
  const pod = find(pods, 'Pod', 'legacy');
  t.is(pod.metadata.labels?.['security.istio.io/tlsMode'], undefined);
  t.is(pod.metadata.labels?.['sidecar.istio.io/inject'], 'false');
});

test('injectorLabels: canonical name and revision fall back like Istio (app.kubernetes.io/*, app, version, workload)', (t) => {
  t.like(injectorLabels({ 'app.kubernetes.io/name': 'a', app: 'b', version: 'v2' }, 'w'), {
    'service.istio.io/canonical-name': 'a',
    'service.istio.io/canonical-revision': 'v2',
  });
  t.like(injectorLabels({}, 'w'), { 'service.istio.io/canonical-name': 'w', 'service.istio.io/canonical-revision': 'latest' });
});

test('a selector Service gets the slice the EndpointSlice controller would make, on its target ports', (t) => {
  const slice = find(objects('mysql-3306-foreign-serviceentry-modern').kube, 'EndpointSlice', 'mysql-server-lab');
  t.like(slice.metadata.labels, {
    'kubernetes.io/service-name': 'mysql-server',
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  });
  t.is(slice.addressType, 'IPv4');
  t.deepEqual(slice.endpoints, [
    {
      addresses: ['172.20.0.30'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: LAB_NODE_NAME,
      targetRef: { kind: 'Pod', namespace: 'demo1', name: 'mysql-server' },
    },
  ]);
  t.deepEqual(slice.ports, [{ name: 'mysql', port: 3306, protocol: 'TCP' }]);
});

test("a Service without selector gets the scenario's Endpoints mirrored into a slice, as the mirroring controller does", (t) => {
  const { kube } = objects('redis-7000-fix-service-endpoints');
  const slice = find(kube, 'EndpointSlice', 'rediscluster-mirror');
  t.like(slice.metadata.labels, {
    'kubernetes.io/service-name': 'rediscluster',
    'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
  });
  t.deepEqual(slice.endpoints, [{ addresses: ['10.0.0.6'], conditions: { ready: true } }]);
  t.true((slice.ports as Array<{ port: number }>).some((p) => p.port === 7000));
  // A selector Service that selects nobody still gets an (empty) slice; a selector-less one without Endpoints gets none.
  t.deepEqual(find(objects('redis-7000-modern').kube, 'EndpointSlice', 'web-admin-lab').endpoints, []);
});

test("Services carry the API server's defaults the fake client would not apply: targetPort, ClusterIP lists", (t) => {
  const svc = find(objects('mysql-3306-foreign-serviceentry-modern').kube, 'Service', 'mysql-server');
  t.deepEqual(svc.spec?.ports, [{ name: 'mysql', port: 3306, targetPort: 3306, protocol: 'TCP' }]);
  t.like(svc.spec, {
    clusterIP: '10.68.228.107',
    clusterIPs: ['10.68.228.107'],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    sessionAffinity: 'None',
  });
});

test('the mesh config: the scenario policy, the access log to stdout, and nothing upstream Envoy lacks', (t) => {
  t.deepEqual(objects('redis-7000-registry-only').mesh, {
    accessLogFile: '/dev/stdout',
    defaultProviders: { metrics: [] },
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES } },
  });
  t.regex(labMeshConfig(loadScenarioFile('redis-7000-modern').scenario).yaml, /mode: ALLOW_ANY/);
});

test('the same Sidecar the kind backend applies carries the policy per workload namespace', (t) => {
  const sc = find(objects('redis-7000-registry-only').istio, 'Sidecar', 'default');
  t.is(sc.metadata.namespace, 'dev-self');
  t.deepEqual(sc.spec, { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } });
});

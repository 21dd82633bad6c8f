import test from 'ava';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { controlPlaneInputs, injectorLabels, LAB_NODE_NAME, withApiDefaults } from '../../harness/istio/controlPlaneInputs.ts';
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
    accessLogEncoding: 'TEXT',
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

// ---------------------------------------------------------------- verbatim objects (objects:, meshConfig:, istiod:)

/** The three files for a modern scenario with a client and a labelled server in demo, plus `extra`. */
function verbatimInputs(extra: string): { kube: Obj[]; istio: Obj[]; env: Record<string, string> } {
  const { scenario } = parseScenario(
    `name: verbatim
description: unit test
istio: "1.30"
workloads:
  - { name: client, namespace: demo, ip: 10.64.192.20 }
  - name: server
    namespace: demo
    ip: 10.64.192.21
    labels: { app: server }
    ports: [{ name: http-web, containerPort: 8080 }, { name: metrics, containerPort: 9090 }]
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
${extra}`,
    'verbatim.yaml',
  );
  const inputs = controlPlaneInputs(scenario);
  const docs = (text: string) =>
    parseAllDocuments(text)
      .map((d) => d.toJS() as Obj)
      .filter(Boolean);
  return { kube: docs(inputs.kubernetes), istio: docs(inputs.istio), env: inputs.istiodEnv };
}

const names = (list: Obj[], kind: string) =>
  list
    .filter((o) => o.kind === kind)
    .map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`)
    .sort();

test('given objects go to the file of their home: Kubernetes kinds, Istio kinds, and the Gateway API to both', (t) => {
  const { kube, istio } = verbatimInputs(`objects:
  - { apiVersion: v1, kind: Secret, metadata: { name: creds, namespace: demo }, stringData: { k: v } }
  - { apiVersion: v1, kind: ServiceAccount, metadata: { name: sa, namespace: demo } }
  - { apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: { name: db, namespace: demo }, spec: { hosts: [db.example.com], ports: [{ number: 3306, name: tcp, protocol: TCP }] } }
  - { apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: { name: strict, namespace: demo }, spec: { mtls: { mode: STRICT } } }
  - { apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: { name: route, namespace: demo }, spec: { parentRefs: [{ name: gw }] } }
`);
  t.deepEqual(names(kube, 'Secret'), ['demo/creds']);
  t.deepEqual(names(kube, 'ServiceAccount'), ['demo/sa']);
  t.deepEqual(names(istio, 'Secret'), []);
  t.deepEqual(names(istio, 'ServiceEntry'), ['demo/db']);
  t.deepEqual(names(istio, 'PeerAuthentication'), ['demo/strict']);
  t.deepEqual(names(kube, 'ServiceEntry'), []);
  t.deepEqual(names(kube, 'PeerAuthentication'), []);
  t.deepEqual(names(kube, 'HTTPRoute'), ['demo/route']);
  t.deepEqual(names(istio, 'HTTPRoute'), ['demo/route']);
});

test('given objects reach lab-istiod unchanged: no scenario label, no defaults (but a Service)', (t) => {
  const { kube, istio } = verbatimInputs(`objects:
  - { apiVersion: v1, kind: Secret, metadata: { name: creds, namespace: demo, labels: { a: b } }, type: Opaque, stringData: { k: v } }
  - { apiVersion: networking.istio.io/v1beta1, kind: DestinationRule, metadata: { name: dr, namespace: demo }, spec: { host: db.example.com, trafficPolicy: { tls: { mode: SIMPLE } } } }
`);
  t.deepEqual(find(kube, 'Secret', 'creds'), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: 'demo', labels: { a: 'b' } },
    type: 'Opaque',
    stringData: { k: 'v' },
  });
  t.deepEqual(find(istio, 'DestinationRule', 'dr'), {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'DestinationRule',
    metadata: { name: 'dr', namespace: 'demo' },
    spec: { host: 'db.example.com', trafficPolicy: { tls: { mode: 'SIMPLE' } } },
  });
});

test("a given Service gets the API server's defaults; an ExternalName one gets no ClusterIP lists and no slice", (t) => {
  const { kube } = verbatimInputs(`objects:
  - { apiVersion: v1, kind: Service, metadata: { name: web, namespace: demo }, spec: { clusterIP: 10.96.0.50, selector: { app: server }, ports: [{ name: http, port: 80, targetPort: http-web }, { name: tcp, port: 7000 }] } }
  - { apiVersion: v1, kind: Service, metadata: { name: ext, namespace: demo }, spec: { type: ExternalName, externalName: db.example.com, selector: { app: server }, ports: [{ port: 3306 }] } }
  - { apiVersion: v1, kind: Service, metadata: { name: headless, namespace: demo }, spec: { clusterIP: None, sessionAffinity: ClientIP, ports: [{ port: 5432 }] } }
`);
  t.deepEqual(find(kube, 'Service', 'web').spec, {
    clusterIP: '10.96.0.50',
    clusterIPs: ['10.96.0.50'],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    selector: { app: 'server' },
    sessionAffinity: 'None',
    type: 'ClusterIP',
    ports: [
      { name: 'http', port: 80, targetPort: 'http-web' },
      { name: 'tcp', port: 7000, targetPort: 7000 },
    ],
  });
  t.deepEqual(find(kube, 'Service', 'ext').spec, {
    type: 'ExternalName',
    externalName: 'db.example.com',
    selector: { app: 'server' },
    sessionAffinity: 'None',
    ports: [{ port: 3306, targetPort: 3306 }],
  });
  t.deepEqual(find(kube, 'Service', 'headless').spec, {
    clusterIP: 'None',
    type: 'ClusterIP',
    sessionAffinity: 'ClientIP',
    ports: [{ port: 5432, targetPort: 5432 }],
  });
  // Slices: the selector Service's; none for ExternalName (even with a selector), none for a selector-less one without Endpoints.
  t.deepEqual(names(kube, 'EndpointSlice'), ['demo/web-lab']);
});

test('withApiDefaults: only Services with a spec; what the scenario set is kept', (t) => {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } };
  t.is(withApiDefaults(secret), secret);
  const bare = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } };
  t.is(withApiDefaults(bare), bare);
  t.deepEqual(
    withApiDefaults({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { type: 'NodePort', clusterIP: '10.96.0.7' } })
      .spec,
    {
      type: 'NodePort',
      clusterIP: '10.96.0.7',
      sessionAffinity: 'None',
      clusterIPs: ['10.96.0.7'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    },
  );
  // No clusterIP: nothing to list.
  t.deepEqual(withApiDefaults({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: {} }).spec, {
    type: 'ClusterIP',
    sessionAffinity: 'None',
  });
});

test('a given selector Service gets an EndpointSlice of the pods it selects, a named targetPort resolved from their ports', (t) => {
  const { kube } = verbatimInputs(`objects:
  - { apiVersion: v1, kind: Service, metadata: { name: web, namespace: demo }, spec: { clusterIP: 10.96.0.50, selector: { app: server }, ports: [{ name: http, port: 80, targetPort: http-web }, { name: m, port: 9000, targetPort: metrics }, { name: n, port: 7000, targetPort: 7001 }, { name: u, port: 6000, targetPort: unknown }] } }
`);
  const slice = find(kube, 'EndpointSlice', 'web-lab');
  t.like(slice.metadata.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  });
  t.deepEqual(slice.endpoints, [
    {
      addresses: ['10.64.192.21'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: LAB_NODE_NAME,
      targetRef: { kind: 'Pod', namespace: 'demo', name: 'server' },
    },
  ]);
  t.deepEqual(slice.ports, [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'm', port: 9090, protocol: 'TCP' },
    { name: 'n', port: 7001, protocol: 'TCP' },
    // A name no selected pod has falls back to the Service port.
    { name: 'u', port: 6000, protocol: 'TCP' },
  ]);
});

test('given Endpoints are mirrored into slices (one per subset) only for a given Service without selector', (t) => {
  const { kube } = verbatimInputs(`objects:
  - { apiVersion: v1, kind: Service, metadata: { name: db, namespace: demo }, spec: { clusterIP: 10.96.0.60, ports: [{ name: a, port: 7000 }, { name: b, port: 8000 }] } }
  - apiVersion: v1
    kind: Endpoints
    metadata: { name: db, namespace: demo }
    subsets:
      - { addresses: [{ ip: 10.0.0.7 }], ports: [{ name: a, port: 7000 }] }
      - { addresses: [{ ip: 10.0.0.8 }, { ip: 10.0.0.9 }], ports: [{ name: b, port: 8000, protocol: UDP }] }
  - { apiVersion: v1, kind: Service, metadata: { name: web, namespace: demo }, spec: { clusterIP: 10.96.0.61, selector: { app: server }, ports: [{ port: 80 }] } }
  - { apiVersion: v1, kind: Endpoints, metadata: { name: web, namespace: demo }, subsets: [{ addresses: [{ ip: 10.0.0.10 }], ports: [{ port: 80 }] }] }
  - { apiVersion: v1, kind: Endpoints, metadata: { name: orphan, namespace: demo }, subsets: [{ addresses: [{ ip: 10.0.0.11 }], ports: [{ port: 80 }] }] }
`);
  t.deepEqual(names(kube, 'EndpointSlice'), ['demo/db-mirror', 'demo/db-mirror-1', 'demo/web-lab']);
  const first = find(kube, 'EndpointSlice', 'db-mirror');
  t.like(first.metadata.labels, {
    'kubernetes.io/service-name': 'db',
    'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
  });
  t.deepEqual(first.endpoints, [{ addresses: ['10.0.0.7'], conditions: { ready: true } }]);
  t.deepEqual(first.ports, [{ name: 'a', port: 7000, protocol: 'TCP' }]);
  const second = find(kube, 'EndpointSlice', 'db-mirror-1');
  t.deepEqual(second.endpoints, [
    { addresses: ['10.0.0.8'], conditions: { ready: true } },
    { addresses: ['10.0.0.9'], conditions: { ready: true } },
  ]);
  t.deepEqual(second.ports, [{ name: 'b', port: 8000, protocol: 'UDP' }]);
  // The selector Service's slice is from its pods, not from the Endpoints written for it.
  t.deepEqual(
    (find(kube, 'EndpointSlice', 'web-lab').endpoints as Array<{ addresses: string[] }>).map((e) => e.addresses[0]),
    ['10.64.192.21'],
  );
  // The Endpoints themselves still reach istiod's client as written.
  t.deepEqual(names(kube, 'Endpoints'), ['demo/db', 'demo/orphan', 'demo/web']);
});

test('istiodEnv: the scenario istiod.env, a copy; the mesh config under a meshConfig policy', (t) => {
  const { scenario } = parseScenario(
    `name: env
description: unit test
istio: "1.30"
workloads:
  - { name: client, namespace: demo, ip: 10.64.192.20 }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
istiod: { env: { PILOT_ENABLE_IP_AUTOALLOCATE: "true" } }
meshConfig:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  trustDomain: example.org
`,
    'env.yaml',
  );
  const inputs = controlPlaneInputs(scenario);
  t.deepEqual(inputs.istiodEnv, { PILOT_ENABLE_IP_AUTOALLOCATE: 'true' });
  inputs.istiodEnv.PILOT_ENABLE_IP_AUTOALLOCATE = 'false';
  t.is(scenario.istiod.env.PILOT_ENABLE_IP_AUTOALLOCATE, 'true');
  t.like(parseYaml(inputs.mesh), { trustDomain: 'example.org', outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } });
  // The mesh config carries the policy: no generated Sidecar says it too.
  const istio = parseAllDocuments(inputs.istio).map((d) => d.toJS() as Obj | null);
  t.false(istio.some((o) => o?.kind === 'Sidecar'));
  t.deepEqual(verbatimInputs('').env, {});
});

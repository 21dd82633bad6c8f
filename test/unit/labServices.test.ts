/**
 * The Services and Endpoints the lab itself acts on (hosts files, kube-proxy's DNAT for clients
 * without a sidecar): the mesh: shorthand's, plus the verbatim ones read into the same shape
 * (harness/scenario/labServices.ts).
 */
import test from 'ava';
import { labEndpoints, labServices, servicesWithoutClusterIP } from '../../harness/scenario/labServices.ts';
import { parseScenario } from '../../harness/scenario/load.ts';
import type { Scenario, VerbatimObject } from '../../harness/scenario/schema.ts';

const BASE = parseScenario(
  `name: svc
description: unit test
istio: "1.30"
workloads:
  - { name: client, namespace: demo, ip: 10.64.192.20 }
  - name: server
    namespace: demo
    ip: 10.64.192.21
    labels: { app: server }
    ports: [{ name: http, containerPort: 8080 }]
mesh:
  services:
    - { name: short, namespace: demo, clusterIP: 10.96.0.10, ports: [{ name: tcp, port: 7000 }] }
  endpoints:
    - { name: short, namespace: demo, addresses: [10.0.0.6], ports: [{ name: tcp, port: 7000 }] }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`,
  'svc.yaml',
).scenario;

/** BASE with these verbatim objects (as the loader leaves them: namespaces defaulted). */
function withObjects(...objects: Array<Partial<VerbatimObject> & { kind: string; metadata: VerbatimObject['metadata'] }>): Scenario {
  return {
    ...BASE,
    objects: objects.map((o) => ({ apiVersion: 'v1', ...o, metadata: { namespace: 'default', ...o.metadata } })),
  };
}

test('labServices: the shorthand only, when there is nothing verbatim', (t) => {
  t.deepEqual(labServices(BASE), BASE.mesh.services);
  t.is(labServices(BASE).length, 1);
});

test('labServices: a verbatim ClusterIP Service, read into the shorthand shape after the shorthand ones', (t) => {
  const s = withObjects({
    kind: 'Service',
    metadata: { name: 'db', namespace: 'demo' },
    spec: {
      clusterIP: '10.96.0.20',
      selector: { app: 'server' },
      ports: [
        { name: 'mysql', port: 3306, targetPort: 3307, protocol: 'TCP', appProtocol: 'mysql' },
        { port: 53, protocol: 'UDP' },
        { name: 'x', port: 9000 },
      ],
    },
  });
  const all = labServices(s);
  t.deepEqual(
    all.map((v) => v.name),
    ['short', 'db'],
  );
  t.deepEqual(all[1], {
    name: 'db',
    namespace: 'demo',
    clusterIP: '10.96.0.20',
    selector: { app: 'server' },
    ports: [
      { name: 'mysql', port: 3306, targetPort: 3307, protocol: 'TCP', appProtocol: 'mysql' },
      { name: '', port: 53, protocol: 'UDP' },
      { name: 'x', port: 9000, protocol: 'TCP' },
    ],
  });
});

test('labServices: type ClusterIP by default; a headless one is kept (as "None"), without selector none is set', (t) => {
  const s = withObjects(
    { kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
    { kind: 'Service', metadata: { name: 'typed' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.30' } },
  );
  const [, headless, typed] = labServices(s);
  t.deepEqual(headless, { name: 'headless', namespace: 'default', clusterIP: 'None', ports: [{ name: '', port: 80, protocol: 'TCP' }] });
  t.false('selector' in headless!);
  t.deepEqual(typed, { name: 'typed', namespace: 'default', clusterIP: '10.96.0.30', ports: [] });
});

test("labServices: ExternalName Services, ClusterIP ones without clusterIP, and kinds other than v1 Service are not the lab's", (t) => {
  const s = withObjects(
    { kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } },
    { kind: 'Service', metadata: { name: 'noip' }, spec: { ports: [{ port: 80 }] } },
    { kind: 'Service', metadata: { name: 'nospec' } },
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'kn' }, spec: { clusterIP: '10.96.0.40' } },
    { kind: 'Endpoints', metadata: { name: 'ext' } },
  );
  t.deepEqual(
    labServices(s).map((v) => v.name),
    ['short'],
  );
});

// Regression test, found and fixed with these tests (harness/scenario/labServices.ts labServices, the ports mapping): a named targetPort is dropped,
// so kube-proxy's DNAT the lab plans for clients without a sidecar (harness/lab/topology.ts planDnat,
// `p.targetPort ?? p.port`) goes to the Service port (80) on the pod, while istiod's EndpointSlice for
// the same Service resolves the name to the container port (controlPlaneInputs.ts targetPortNumber:
// 8080). Fix: resolve a named targetPort from the selected workloads' `ports` as
// controlPlaneInputs.ts does (or share that function), leaving it out only when no pod names it.
test('labServices: a named targetPort is resolved from the selected workload ports, as the EndpointSlice is', (t) => {
  const s = withObjects({
    kind: 'Service',
    metadata: { name: 'web', namespace: 'demo' },
    spec: { clusterIP: '10.96.0.50', selector: { app: 'server' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const web = labServices(s).find((v) => v.name === 'web');
  t.is(web?.ports[0]?.targetPort, 8080);
});

// Regression test, found and fixed with these tests (harness/scenario/labServices.ts labServices and servicesWithoutClusterIP): only type ClusterIP
// counts as having a cluster IP, but NodePort and LoadBalancer Services have one too (Kubernetes
// allocates it as for ClusterIP). A verbatim NodePort Service with spec.clusterIP is left out of the
// lab's hosts files and DNAT (its name does not resolve in the pods), and one without spec.clusterIP
// is not refused although no API server allocates one in the lab. Fix: treat every type but
// ExternalName as ClusterIP-bearing, in both functions.
test('labServices: NodePort and LoadBalancer Services have a cluster IP too', (t) => {
  const s = withObjects(
    { kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', clusterIP: '10.96.0.60', ports: [{ port: 80 }] } },
    { kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  );
  t.deepEqual(
    labServices(s).map((v) => v.name),
    ['short', 'np'],
  );
  t.deepEqual(servicesWithoutClusterIP(s), [1]);
});

test('labEndpoints: the shorthand, then the first subset of each verbatim v1 Endpoints', (t) => {
  const s = withObjects(
    {
      kind: 'Endpoints',
      metadata: { name: 'db', namespace: 'demo' },
      subsets: [{ addresses: [{ ip: '10.0.0.7' }, { ip: '10.0.0.8' }], ports: [{ name: 'mysql', port: 3306 }, { port: 33060 }] }],
    },
    { kind: 'Endpoints', metadata: { name: 'noports' }, subsets: [{ addresses: [{ ip: '10.0.0.9' }] }] },
  );
  t.deepEqual(labEndpoints(s), [
    ...BASE.mesh.endpoints,
    {
      name: 'db',
      namespace: 'demo',
      addresses: ['10.0.0.7', '10.0.0.8'],
      ports: [
        { name: 'mysql', port: 3306 },
        { name: '', port: 33060 },
      ],
    },
    { name: 'noports', namespace: 'default', addresses: ['10.0.0.9'], ports: [] },
  ]);
});

test('labEndpoints: an Endpoints without subsets or ready addresses gives the lab nothing to DNAT to', (t) => {
  const s = withObjects(
    { kind: 'Endpoints', metadata: { name: 'none' } },
    { kind: 'Endpoints', metadata: { name: 'empty' }, subsets: [] },
    {
      kind: 'Endpoints',
      metadata: { name: 'notready' },
      subsets: [{ notReadyAddresses: [{ ip: '10.0.0.9' }], ports: [{ port: 1 }] }],
    },
    {
      apiVersion: 'example.com/v1',
      kind: 'Endpoints',
      metadata: { name: 'foreign' },
      subsets: [{ addresses: [{ ip: '10.0.0.9' }] }],
    },
  );
  t.deepEqual(labEndpoints(s), BASE.mesh.endpoints);
});

// Regression test, found and fixed with these tests (harness/scenario/labServices.ts labEndpoints): only the first subset of a verbatim Endpoints is
// read. Endpoints with ports that differ per address have several subsets (the API server also
// regroups them so), and istiod gets them all (controlPlaneInputs.ts mirroredSlices makes one slice per
// subset); the lab drops the rest, so a non-sidecar client's DNAT for the second port has no endpoint,
// or (planDnat's single-port fallback) goes to the first subset's address and port. Fix: one lab
// Endpoints entry per subset with addresses (and planDnat picking the entry that has the port).
test('labEndpoints: every subset with addresses reaches the lab, not only the first', (t) => {
  const s = withObjects({
    kind: 'Endpoints',
    metadata: { name: 'split', namespace: 'demo' },
    subsets: [
      { addresses: [{ ip: '10.0.0.7' }], ports: [{ name: 'a', port: 7000 }] },
      { addresses: [{ ip: '10.0.0.8' }], ports: [{ name: 'b', port: 8000 }] },
    ],
  });
  const split = labEndpoints(s).filter((e) => e.name === 'split');
  t.true(
    split.some((e) => e.addresses.includes('10.0.0.8') && e.ports.some((p) => p.name === 'b' && p.port === 8000)),
    JSON.stringify(split),
  );
});

test('servicesWithoutClusterIP: the indexes (in scenario.objects) of ClusterIP Services that name no clusterIP', (t) => {
  const s = withObjects(
    { kind: 'Service', metadata: { name: 'ok' }, spec: { clusterIP: '10.96.0.20' } },
    { kind: 'Service', metadata: { name: 'untyped' }, spec: { ports: [{ port: 80 }] } },
    { kind: 'Service', metadata: { name: 'nospec' } },
    { kind: 'Service', metadata: { name: 'typed' }, spec: { type: 'ClusterIP' } },
    { kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None' } },
    { kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'x.example.com' } },
    { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'se' }, spec: {} },
  );
  t.deepEqual(servicesWithoutClusterIP(s), [1, 2, 3]);
  t.deepEqual(servicesWithoutClusterIP(BASE), []);
});

/**
 * A scenario's verbatim objects as the backends pass them on (harness/k8s/givenObjects.ts), and
 * where they join the rendered objects (harness/k8s/objects.ts meshObjects, scenarioNamespaces).
 */
import test from 'ava';
import { GivenObject, givenObjects } from '../../harness/k8s/givenObjects.ts';
import { MANIFEST_OPTIONS, meshObjects, ownedNamespaces, scenarioNamespaces, SCENARIO_LABEL } from '../../harness/k8s/objects.ts';
import { parseScenario } from '../../harness/scenario/load.ts';
import type { Scenario, VerbatimObject } from '../../harness/scenario/schema.ts';

const obj = (
  apiVersion: string,
  kind: string,
  rest: Record<string, unknown> = {},
  namespace: string | undefined = 'demo',
): VerbatimObject => ({
  apiVersion,
  kind,
  metadata: { name: 'x', ...(namespace !== undefined ? { namespace } : {}) },
  ...rest,
});

test('GivenObject: apiVersion, kind and metadata as written, its home by kind, marked as given', (t) => {
  const svc = new GivenObject(obj('v1', 'Service', { spec: { clusterIP: '10.96.0.1' } }));
  t.is(svc.apiVersion, 'v1');
  t.is(svc.kind, 'Service');
  t.deepEqual(svc.metadata, { name: 'x', namespace: 'demo' });
  t.is(svc.home, 'kubernetes');
  t.true(svc.given);
  t.is(new GivenObject(obj('networking.istio.io/v1', 'ServiceEntry')).home, 'istio');
  t.is(new GivenObject(obj('security.istio.io/v1', 'AuthorizationPolicy')).home, 'istio');
  t.is(new GivenObject(obj('gateway.networking.k8s.io/v1', 'HTTPRoute')).home, 'gateway-api');
  t.is(new GivenObject(obj('discovery.k8s.io/v1', 'EndpointSlice')).home, 'kubernetes');
});

test('GivenObject: a kind the loader refuses cannot be made into one', (t) => {
  const err = t.throws(() => new GivenObject(obj('apps/v1', 'Deployment')));
  t.regex(err.message, /^apps\/v1 Deployment: a pod is a workload/);
  t.throws(() => new GivenObject(obj('v1', 'ConfigMap')), { message: /^v1 ConfigMap: istiod reads only the istio ConfigMap/ });
});

test('GivenObject.toJSON: the object exactly as written, a deep copy every time', (t) => {
  const data = obj('networking.istio.io/v1', 'DestinationRule', {
    spec: { host: 'db.demo.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } }, unknownField: [1, { a: null }] },
  });
  const given = new GivenObject(data);
  const json = given.toJSON();
  t.deepEqual(json, data);
  t.not(json, data);
  // No scenario label, no defaults: unchanged.
  t.is(json.metadata.labels, undefined);
  (json.spec as { host: string }).host = 'changed';
  t.is((given.toJSON().spec as { host: string }).host, 'db.demo.svc.cluster.local');
  // JSON.stringify uses it: what a backend writes out.
  t.deepEqual(JSON.parse(JSON.stringify(given)), data);
});

test('GivenObject.validate: built-in kinds are checked against the published Kubernetes schemas, naming the field', (t) => {
  const bad: Array<[VerbatimObject, RegExp]> = [
    [obj('v1', 'Service', { spec: { ports: [{ port: 'eighty' }] } }), /spec\/ports\/0\/port must be integer/],
    [obj('v1', 'Service', { spec: { type: 'Bogus' } }), /spec\/type must be equal to one of the allowed values/],
    [obj('v1', 'Endpoints', { subsets: [{ addresses: [{}] }] }), /subsets\/0\/addresses\/0 must have required property ip/],
    [obj('discovery.k8s.io/v1', 'EndpointSlice', { endpoints: [] }), /must have required property addressType/],
    [obj('v1', 'Secret', { data: { key: 5 } }), /data\/key must be string/],
    [obj('v1', 'ServiceAccount', { secrets: 'x' }), /secrets must be array/],
    [obj('v1', 'Namespace', { spec: { finalizers: 'x' } }, undefined), /spec\/finalizers must be array/],
  ];
  for (const [data, why] of bad) t.throws(() => new GivenObject(data).validate(), { message: why }, `${data.kind}`);
  t.notThrows(() =>
    new GivenObject(obj('v1', 'Service', { spec: { clusterIP: '10.96.0.1', ports: [{ port: 80, targetPort: 'http' }] } })).validate(),
  );
  t.notThrows(() => new GivenObject(obj('v1', 'Namespace', {}, undefined)).validate());
});

test("GivenObject.validate: Istio's and the Gateway API's kinds are left to lab-istiod validate (no schema here)", (t) => {
  t.notThrows(() => new GivenObject(obj('networking.istio.io/v1', 'ServiceEntry', { spec: { hosts: 42 } })).validate());
  t.notThrows(() => new GivenObject(obj('gateway.networking.k8s.io/v1', 'HTTPRoute', { spec: 'nonsense' })).validate());
});

test('GivenObject.validate does not change the object', (t) => {
  const data = obj('v1', 'Service', { spec: { clusterIP: '10.96.0.1', ports: [{ port: 80 }] } });
  const before = structuredClone(data);
  const given = new GivenObject(data);
  given.validate();
  t.deepEqual(given.toJSON(), before);
  t.deepEqual(data, before);
});

test('givenObjects: one GivenObject per object, in order', (t) => {
  const list = givenObjects([obj('v1', 'Secret'), obj('networking.istio.io/v1', 'Sidecar')]);
  t.true(list.every((o) => o instanceof GivenObject));
  t.deepEqual(
    list.map((o) => [o.kind, o.home]),
    [
      ['Secret', 'kubernetes'],
      ['Sidecar', 'istio'],
    ],
  );
  t.deepEqual(givenObjects([]), []);
});

// ------------------------------------------------ meshObjects and namespaces (harness/k8s/objects.ts)

function scenario(extra: string): Scenario {
  return parseScenario(
    `name: given
description: unit test
istio: "1.30"
workloads:
  - { name: client, namespace: demo, ip: 10.64.192.20 }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
${extra}`,
    'given.yaml',
  ).scenario;
}

test('scenarioNamespaces: the verbatim objects namespaces and Namespace objects count; a cluster-scoped object adds none', (t) => {
  const s = scenario(`objects:
  - { apiVersion: v1, kind: Secret, metadata: { name: s, namespace: vault } }
  - { apiVersion: v1, kind: ServiceAccount, metadata: { name: sa } }
  - { apiVersion: v1, kind: Namespace, metadata: { name: lonely } }
  - { apiVersion: gateway.networking.k8s.io/v1, kind: GatewayClass, metadata: { name: istio }, spec: { controllerName: istio.io/gateway-controller } }
  - { apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: { name: se, namespace: istio-system }, spec: { hosts: [a.example.com] } }
`);
  t.deepEqual(scenarioNamespaces(s), ['default', 'demo', 'istio-system', 'lonely', 'vault']);
  t.deepEqual(ownedNamespaces(s), ['demo', 'lonely', 'vault']);
});

test('meshObjects: the given objects come after the rendered ones, as GivenObjects, unchanged', (t) => {
  const s = scenario(`objects:
  - { apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: { name: se, namespace: demo }, spec: { hosts: [a.example.com], ports: [{ number: 80, name: http, protocol: HTTP }] } }
  - { apiVersion: v1, kind: Secret, metadata: { name: creds, namespace: vault }, stringData: { password: x } }
`);
  const objects = meshObjects(s, MANIFEST_OPTIONS);
  const given = objects.filter((o) => o instanceof GivenObject);
  t.deepEqual(
    given.map((o) => JSON.parse(JSON.stringify(o)) as unknown),
    s.objects,
  );
  t.deepEqual(objects.slice(-2), given);
  // The namespace a given object lives in is created like a workload's.
  const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata?.name);
  t.deepEqual(namespaces, ['demo', 'vault']);
});

test('meshObjects: a verbatim Namespace replaces the generated one (no scenario label or istio-injection added)', (t) => {
  const s = scenario(`objects:
  - { apiVersion: v1, kind: Namespace, metadata: { name: demo, labels: { team: a } } }
`);
  const namespaces = meshObjects(s, MANIFEST_OPTIONS).filter((o) => o.kind === 'Namespace');
  t.is(namespaces.length, 1);
  t.true(namespaces[0] instanceof GivenObject);
  t.deepEqual(namespaces[0]!.metadata, { name: 'demo', labels: { team: 'a' } });
  // Without it, the generated one has the lab's labels.
  const generated = meshObjects(scenario(''), MANIFEST_OPTIONS).filter((o) => o.kind === 'Namespace');
  t.deepEqual(generated[0]!.metadata?.labels, { 'istio-injection': 'enabled', [SCENARIO_LABEL]: 'given' });
});

test('meshObjects: given objects are not schema-checked here (scenario validation does that), rendered ones still are', (t) => {
  const s = scenario(`objects:
  - { apiVersion: v1, kind: Service, metadata: { name: bad, namespace: demo }, spec: { clusterIP: 10.96.0.9, ports: [{ port: 80 }, { port: 81 }] } }
`);
  // Two unnamed ports: the API server's check (semanticChecks) refuses a rendered Service like that.
  t.notThrows(() => meshObjects(s, MANIFEST_OPTIONS));
  const rendered = scenario(`mesh:
  services:
    - { name: bad, namespace: demo, clusterIP: 10.96.0.9, ports: [{ port: 80 }, { port: 81 }] }
`);
  t.throws(() => meshObjects(rendered, MANIFEST_OPTIONS), { message: /Service demo\/bad .*every port needs a name/ });
});

test('meshObjects: under a meshConfig policy no Sidecar is generated and a namespace-wide shorthand Sidecar gets no policy', (t) => {
  const s = scenario(`meshConfig:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
mesh:
  sidecars:
    - { name: own, namespace: demo, spec: { egress: [{ hosts: ["./*"] }] } }
`);
  const sidecars = meshObjects(s, MANIFEST_OPTIONS).filter((o) => o.kind === 'Sidecar');
  t.deepEqual(
    sidecars
      .map((o) => JSON.parse(JSON.stringify(o)) as { metadata: { name: string }; spec: unknown })
      .map((o) => [o.metadata.name, o.spec]),
    [['own', { egress: [{ hosts: ['./*'] }] }]],
  );
  // The shorthand policy alone: the namespace-wide shorthand Sidecar carries it, no generated one.
  const shorthand = scenario(`mesh:
  outboundTrafficPolicy: REGISTRY_ONLY
  sidecars:
    - { name: own, namespace: demo, spec: { egress: [{ hosts: ["./*"] }] } }
`);
  const own = meshObjects(shorthand, MANIFEST_OPTIONS).filter((o) => o.kind === 'Sidecar');
  t.deepEqual(
    own.map((o) => (JSON.parse(JSON.stringify(o)) as { spec: unknown }).spec),
    [{ egress: [{ hosts: ['./*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }],
  );
});

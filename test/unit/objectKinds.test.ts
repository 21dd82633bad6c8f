/** Which verbatim objects a scenario may carry, where each goes, and the key two objects may not share. */
import test from 'ava';
import { isClusterScoped, kindVerdict, identityKey, objectKey } from '../../harness/scenario/objectKinds.ts';

test("kindVerdict: Istio's API groups go to istiod's config store, whatever the version or kind", (t) => {
  t.deepEqual(kindVerdict('networking.istio.io/v1', 'ServiceEntry'), { home: 'istio' });
  t.deepEqual(kindVerdict('networking.istio.io/v1beta1', 'Sidecar'), { home: 'istio' });
  t.deepEqual(kindVerdict('networking.istio.io/v1alpha3', 'EnvoyFilter'), { home: 'istio' });
  t.deepEqual(kindVerdict('security.istio.io/v1', 'PeerAuthentication'), { home: 'istio' });
  t.deepEqual(kindVerdict('telemetry.istio.io/v1', 'Telemetry'), { home: 'istio' });
  t.deepEqual(kindVerdict('extensions.istio.io/v1alpha1', 'WasmPlugin'), { home: 'istio' });
});

test('kindVerdict: the Gateway API (standard and experimental groups) goes to both homes', (t) => {
  t.deepEqual(kindVerdict('gateway.networking.k8s.io/v1', 'HTTPRoute'), { home: 'gateway-api' });
  t.deepEqual(kindVerdict('gateway.networking.k8s.io/v1', 'GatewayClass'), { home: 'gateway-api' });
  t.deepEqual(kindVerdict('gateway.networking.x-k8s.io/v1alpha1', 'XBackendTrafficPolicy'), { home: 'gateway-api' });
});

test('kindVerdict: exactly six Kubernetes built-in kinds, by apiVersion and kind', (t) => {
  for (const [apiVersion, kind] of [
    ['v1', 'Namespace'],
    ['v1', 'Service'],
    ['v1', 'Endpoints'],
    ['v1', 'ServiceAccount'],
    ['v1', 'Secret'],
    ['discovery.k8s.io/v1', 'EndpointSlice'],
  ])
    t.deepEqual(kindVerdict(apiVersion!, kind!), { home: 'kubernetes' }, `${apiVersion} ${kind}`);
  // The same kind at another version is not one the lab reads.
  const old = kindVerdict('discovery.k8s.io/v1beta1', 'EndpointSlice');
  t.true('refused' in old);
  t.regex((old as { refused: string }).refused, /istiod does not read discovery\.k8s\.io\/v1beta1 EndpointSlice/);
  // A kind name is case-sensitive, as the API server's is.
  t.true('refused' in kindVerdict('v1', 'service'));
});

test('kindVerdict: pods and every pod controller are refused, pointing at workloads:', (t) => {
  for (const [apiVersion, kind] of [
    ['v1', 'Pod'],
    ['apps/v1', 'Deployment'],
    ['apps/v1', 'StatefulSet'],
    ['apps/v1', 'DaemonSet'],
    ['apps/v1', 'ReplicaSet'],
    ['v1', 'ReplicationController'],
    ['batch/v1', 'Job'],
    ['batch/v1', 'CronJob'],
  ]) {
    const v = kindVerdict(apiVersion!, kind!);
    t.false('home' in v, `${apiVersion} ${kind}`);
    t.regex((v as { refused: string }).refused, /a pod is a workload: declare it under workloads:/, `${apiVersion} ${kind}`);
  }
});

test('kindVerdict: kinds the lab knows it ignores are refused with their own reason', (t) => {
  const why = (apiVersion: string, kind: string) => (kindVerdict(apiVersion, kind) as { refused?: string }).refused ?? '';
  t.regex(why('v1', 'ConfigMap'), /give the mesh config as meshConfig:/);
  t.regex(why('networking.k8s.io/v1', 'NetworkPolicy'), /enforces no NetworkPolicy/);
  t.regex(why('apiextensions.k8s.io/v1', 'CustomResourceDefinition'), /already has Istio's and the Gateway API's CRDs/);
  t.regex(why('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'), /webhooks are not called/);
  t.regex(why('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'), /webhooks are not called/);
});

test('kindVerdict: any other kind is refused, naming what the lab does read', (t) => {
  const v = kindVerdict('rbac.authorization.k8s.io/v1', 'ClusterRole');
  t.false('home' in v);
  const why = (v as { refused: string }).refused;
  t.regex(why, /^istiod does not read rbac\.authorization\.k8s\.io\/v1 ClusterRole, so the lab would ignore it/);
  t.regex(why, /networking\.istio\.io, security\.istio\.io, telemetry\.istio\.io, extensions\.istio\.io/);
  t.regex(why, /v1\/Service, v1\/Endpoints, v1\/ServiceAccount, v1\/Secret, discovery\.k8s\.io\/v1\/EndpointSlice/);
  // A core-looking kind in an unknown group is not the core kind.
  t.true('refused' in kindVerdict('example.com/v1', 'Service'));
  // An Istio-looking group that is not one of Istio's.
  t.true('refused' in kindVerdict('istio.io/v1', 'ServiceEntry'));
});

test('isClusterScoped: Namespaces and GatewayClasses have no namespace; everything else does', (t) => {
  t.true(isClusterScoped('Namespace'));
  t.true(isClusterScoped('GatewayClass'));
  for (const kind of ['Service', 'Endpoints', 'Secret', 'ServiceEntry', 'Sidecar', 'Gateway', 'HTTPRoute', 'EndpointSlice'])
    t.false(isClusterScoped(kind), kind);
});

test('objectKey: "Kind namespace/name", or "Kind name" without a namespace', (t) => {
  t.is(objectKey({ kind: 'Service', metadata: { name: 'db', namespace: 'demo' } }), 'Service demo/db');
  t.is(objectKey({ kind: 'Namespace', metadata: { name: 'demo' } }), 'Namespace demo');
  t.is(objectKey({ kind: 'Namespace', metadata: { name: 'demo', namespace: '' } }), 'Namespace demo');
  t.not(
    objectKey({ kind: 'Service', metadata: { name: 'db', namespace: 'a' } }),
    objectKey({ kind: 'Service', metadata: { name: 'db', namespace: 'b' } }),
  );
});

// Regression test, found and fixed with these tests (harness/scenario/objectKinds.ts objectKey, used by scenario/load.ts objectChecks): the key has
// the kind but not the API group, so Istio's networking.istio.io Gateway and the Gateway API's
// gateway.networking.k8s.io Gateway (two different resources, which a cluster holds side by side under
// one namespace/name) share a key and the loader calls them duplicates. The fix: key by group and
// kind (e.g. "Gateway.gateway.networking.k8s.io ns/name" for non-core groups), while keeping one key
// for the versions of one group (networking.istio.io/v1 and v1beta1 are the same object).
test('identityKey: the same kind name in two API groups is two objects (Istio Gateway vs Gateway API Gateway)', (t) => {
  const istio = { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'demo' } };
  const gatewayApi = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'demo' } };
  t.not(identityKey(istio), identityKey(gatewayApi));
  // One key for the versions of one group.
  t.is(identityKey(istio), identityKey({ ...istio, apiVersion: 'networking.istio.io/v1beta1' }));
});

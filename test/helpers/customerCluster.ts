/**
 * A customer-like cluster dump, as `kubectl get svc,endpoints,endpointslices,serviceentries,... -A
 * -o yaml` and `kubectl get pod -o yaml` print it: a catalog scenario's objects (the objects the
 * lab's control plane reads, so Istio's own code has accepted them), the client pod as the
 * injector leaves it (istio-proxy container, status annotation), and noise a real cluster has:
 * a hundred (or more) unrelated Services in ten namespaces (some on the same port, TCP on their own
 * ClusterIPs), a Secret, a ConfigMap holding a certificate, a Deployment, last-applied annotations.
 */
import { parse, parseAllDocuments, stringify } from 'yaml';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';

type Obj = Record<string, unknown>;

/** A Kubernetes object as the YAML parser returns it; typed in the fields this file reads. */
interface KubeObject {
  kind?: string;
  metadata: { name: string; annotations: Record<string, string> } & Obj;
  spec: { containers?: unknown[] } & Obj;
  [field: string]: unknown;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const SECRET_TEXT = 'c2VjcmV0LXRva2VuLWRvLW5vdC1jb3B5';
export const CERT_TEXT = '-----BEGIN CERTIFICATE-----\nMIIBcustomerCA\n-----END CERTIFICATE-----';

function docs(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubeObject)
    .filter(Boolean);
}

/** A hundred Services nobody's traffic to the destinations touches, and a few on the same port that still do not. */
export function unrelatedServices(port: number, count = 100): Obj[] {
  const out: Obj[] = [];
  const ports = [80, 8080, 443, 5432, 6379, 9090, 9100, 15000 + 1, 27017, 11211];
  for (let i = 0; i < count; i++) {
    const ns = `team-${i % 10}`;
    const p = i % 25 === 0 ? port : ports[i % ports.length]!;
    const name = p === port ? `db-proxy-${i}` : `svc-${i}`;
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: ns,
        creationTimestamp: `2026-01-0${1 + (i % 9)}T00:00:00Z`,
        annotations: { [LAST_APPLIED]: '{"apiVersion":"v1","kind":"Service"}' },
      },
      // Same-port ones are TCP on their own ClusterIP: their listener is only for that address.
      spec: {
        type: 'ClusterIP',
        clusterIP: `10.96.${10 + Math.floor(i / 200)}.${(i % 200) + 10}`,
        selector: { app: name },
        ports: [{ name: p === port ? 'tcp-db' : `port-${p}`, port: p, protocol: 'TCP', targetPort: p }],
      },
    });
  }
  return out;
}

/** The scenario's objects plus the noise, as one kubectl List, and the client pod on its own. */
export function customerCluster(
  s: Scenario,
  client: string,
  port: number,
  opts: { unrelated?: number; proxyImage?: string } = {},
): { listYaml: string; podYaml: string; meshConfigYaml: string } {
  const proxyImage = opts.proxyImage ?? 'docker.io/istio/proxyv2:1.30.3';
  const inputs = controlPlaneInputs(s);
  const kube = docs(inputs.kubernetes);
  const istio = docs(inputs.istio).map((o) => ({ ...o, apiVersion: 'networking.istio.io/v1' }));
  const pods = kube.filter((o) => o.kind === 'Pod');
  const pod = pods.find((o) => o.metadata.name === client)!;
  // proxyMetadata is istio-proxy's environment: customers put tokens there.
  const proxyConfig = {
    ...(parse(pod.metadata.annotations['proxy.istio.io/config'] ?? '{}') as Obj),
    proxyMetadata: { VAULT_TOKEN: SECRET_TEXT },
  };
  pod.metadata.annotations = {
    ...pod.metadata.annotations,
    'proxy.istio.io/config': stringify(proxyConfig),
    'sidecar.istio.io/status': '{"initContainers":["istio-init"],"containers":["istio-proxy"]}',
    'sidecar.istio.io/userVolumeMount': '[{"name":"vault","mountPath":"/vault"}]',
    [LAST_APPLIED]: '{}',
  };
  pod.spec.containers = [
    ...(pod.spec.containers ?? []),
    { name: 'istio-proxy', image: proxyImage, env: [{ name: 'ISTIO_META_TOKEN', value: SECRET_TEXT }] },
  ];
  const noise: Obj[] = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-credentials', namespace: 'demo1' }, data: { password: SECRET_TEXT } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca-bundle', namespace: 'demo1' }, data: { 'ca.crt': CERT_TEXT } },
    // istiod puts one in every namespace; it sorts before istio-system/istio in a bug-report.
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio-ca-root-cert', namespace: 'default' },
      data: { 'root-cert.pem': CERT_TEXT },
    },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'team-1' }, spec: { replicas: 2 } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-1' } },
  ];
  const items = [
    ...kube.filter((o) => o.kind !== 'Pod'),
    ...istio,
    ...unrelatedServices(port, opts.unrelated ?? 100),
    ...noise,
    ...pods.filter((o) => o !== pod),
  ];
  const meshConfig = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'istio', namespace: 'istio-system' },
    data: {
      mesh: stringify({
        outboundTrafficPolicy: { mode: s.mesh.outboundTrafficPolicy },
        accessLogFile: '/dev/stdout',
        rootNamespace: 'istio-system',
      }),
    },
  };
  return {
    listYaml: stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }),
    podYaml: stringify(pod),
    meshConfigYaml: stringify(meshConfig),
  };
}

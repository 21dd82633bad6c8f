/**
 * The kept customer objects as a scenario file: the client pod as a workload (the lab runs pods
 * itself), every kept object under `objects:` as the customer sent it (each with a comment saying
 * why it was kept), the mesh config as `meshConfig:`, one external server per destination and one
 * probe per destination with no expectations yet. Only what the lab cannot run is left out (IPv6-only
 * Services and endpoints: the lab is IPv4), and what it runs differently is said in a note, never
 * guessed. Pure: no I/O.
 */
import { Document, isMap, isScalar, isSeq, parse as parseYaml } from 'yaml';
import { toGoYaml } from '../core/goYaml.ts';
import { isIPv4, isIPv6 } from 'node:net';
import { basename } from 'node:path';
import type { CustomerObject } from './customerObjects.ts';
import { ImportError } from './customerObjects.ts';
import type { Destination, KeptObject, Relevance } from './relevance.ts';
import { parseIstioVersion, SUPPORTED_RANGES } from '../scenario/istioVersion.ts';
import { serverType, type ServerKind } from '../servers/registry.ts';
import { isMapping as isObj } from '../core/mapping.ts';

export interface ImportRequest {
  name: string;
  pod: CustomerObject;
  destinations: Array<Destination & { kind: ServerKind }>;
  relevance: Relevance;
  /** data.mesh of the istio ConfigMap. */
  meshConfig?: Record<string, unknown>;
  /** The Istio version the scenario assumes (from the pod's proxy image, or --istio). */
  istio: string;
  /** Where the request came from, for the description. */
  inputs: string[];
}

export interface ImportedScenario {
  yaml: string;
  /** What the lab left out or runs differently from the customer's cluster, and why. */
  notes: string[];
}

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).map(String);
/** A scalar field of a parsed object as text (a number or boolean as String writes it), or the default when it is absent or not a scalar. */
const text = (v: unknown, absent: string): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : absent;

/** The scenario's DNS-label names: lower case, a-z 0-9 -, at most 63. */
export function dnsLabel(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63)
      .replace(/-+$/, '') || 'x'
  );
}

/**
 * Annotations that change how the sidecar captures or proxies. Not copied: the injector's
 * bookkeeping, and what can carry the pod's own material (proxyMetadata is istio-proxy's
 * environment, tokens included; volumes and bootstrap overrides name the pod's files).
 */
const CAPTURE_ANNOTATIONS =
  /^(traffic\.sidecar\.istio\.io\/.+|sidecar\.istio\.io\/(inject|interceptionMode|logLevel|componentLogLevel|agentLogLevel))$/;

function sidecarAnnotations(a: Record<string, string>, notes: string[]): Record<string, string> {
  const out = Object.fromEntries(Object.entries(a).filter(([k]) => CAPTURE_ANNOTATIONS.test(k)));
  const config = a['proxy.istio.io/config'];
  if (config !== undefined) {
    try {
      const parsed = parseYaml(config) as Record<string, unknown> | null;
      if (parsed && typeof parsed === 'object') {
        const { proxyMetadata, ...rest } = parsed;
        if (proxyMetadata !== undefined)
          notes.push("the pod's proxy.istio.io/config proxyMetadata (istio-proxy's environment) is left out");
        if (Object.keys(rest).length > 0) out['proxy.istio.io/config'] = toGoYaml(rest);
      }
    } catch {
      notes.push("the pod's proxy.istio.io/config is not YAML; left out");
    }
  }
  const left = Object.keys(a).filter(
    (k) => /istio\.io\//.test(k) && !(k in out) && k !== 'proxy.istio.io/config' && k !== 'sidecar.istio.io/status',
  );
  if (left.length > 0)
    notes.push(`pod annotations left out (they name the pod's own files or settings the lab does not model): ${left.join(', ')}`);
  return out;
}

function hasSidecar(pod: CustomerObject): boolean {
  const named = [...arr(pod.body.containers), ...arr(pod.body.initContainers)].some((c) => isObj(c) && c.name === 'istio-proxy');
  return named || 'sidecar.istio.io/status' in pod.meta.annotations;
}

export function podIp(pod: CustomerObject): string {
  const ip = isObj(pod.body.status) ? pod.body.status.podIP : undefined;
  if (typeof ip !== 'string' || !isIPv4(ip)) {
    throw new ImportError(
      `${pod.source} (Pod ${pod.meta.namespace}/${pod.meta.name}): status.podIP: expected the pod's IPv4 address (send the pod as kubectl get pod -o yaml prints it, with its status)`,
    );
  }
  return ip;
}

/** The Istio version of the pod's proxy image (…/proxyv2:1.22.3 → 1.22.3), if it has one. */
export function proxyImageVersion(pod: CustomerObject): string | undefined {
  const image = [...arr(pod.body.containers), ...arr(pod.body.initContainers)].find((c) => isObj(c) && c.name === 'istio-proxy');
  const tag = isObj(image) ? /:(\d+\.\d+(?:\.\d+)?)(?:[-@].*)?$/.exec(text(image.image, ''))?.[1] : undefined;
  return tag;
}

function workload(pod: CustomerObject, notes: string[]) {
  const ports = containerPorts(pod);
  const labels = { ...pod.meta.labels };
  delete labels['pod-template-hash'];
  return {
    name: dnsLabel(pod.meta.name),
    namespace: pod.meta.namespace,
    ip: podIp(pod),
    sidecar: hasSidecar(pod),
    annotations: sidecarAnnotations(pod.meta.annotations, notes),
    labels,
    serviceAccount: dnsLabel(text(pod.body.serviceAccountName, 'default')),
    ...(ports.length > 0 ? { ports } : {}),
  };
}

/** The pod's own containers' ports (a Service's named targetPort refers to them); the injected istio-proxy's are the lab's. */
function containerPorts(pod: CustomerObject): Array<{ name?: string; containerPort: number; protocol: string }> {
  const out: Array<{ name?: string; containerPort: number; protocol: string }> = [];
  for (const c of arr(pod.body.containers).filter(isObj)) {
    if (c.name === 'istio-proxy') continue;
    for (const p of arr(c.ports).filter(isObj)) {
      const protocol = text(p.protocol, 'TCP');
      // The lab's pods have TCP and UDP ports only (an SCTP port is no Service's target in it).
      if (typeof p.containerPort !== 'number' || (protocol !== 'TCP' && protocol !== 'UDP')) continue;
      const name = typeof p.name === 'string' && p.name !== '' ? p.name : undefined;
      if (out.some((q) => q.containerPort === p.containerPort && q.protocol === protocol)) continue;
      out.push({ ...(name ? { name } : {}), containerPort: p.containerPort, protocol });
    }
  }
  return out;
}

const ref = (o: CustomerObject) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`;

/** The object as it would be applied: apiVersion and kind as sent, its authored metadata, and its own fields (spec, or an Endpoints' or EndpointSlice's top-level fields). */
export function verbatim(o: CustomerObject): Record<string, unknown> {
  const own = o.kind === 'Endpoints' || o.kind === 'EndpointSlice' ? o.body : { spec: o.body };
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, ...own };
}

const isV6 = (a: string) => isIPv6(a.split('/')[0]!);

/** A Service with only IPv6 addresses (its ClusterIP, or a headless one's families). */
function ipv6Only(o: CustomerObject): boolean {
  if (o.kind !== 'Service') return false;
  const ip = text(o.body.clusterIP, '');
  if (ip !== '' && ip !== 'None') return isV6(ip);
  const families = strs(o.body.ipFamilies);
  return families.length > 0 && families.every((f) => f === 'IPv6');
}

/** The addresses of an Endpoints or EndpointSlice. */
function endpointAddresses(o: CustomerObject): string[] {
  if (o.kind === 'Endpoints')
    return arr(o.body.subsets)
      .filter(isObj)
      .flatMap((s) => [...arr(s.addresses), ...arr(s.notReadyAddresses)].filter(isObj).map((a) => text(a.ip, '')));
  return arr(o.body.endpoints)
    .filter(isObj)
    .flatMap((e) => strs(e.addresses));
}

/** The Pods an Endpoints or EndpointSlice names as its endpoints (targetRef), as namespace/name. */
function endpointPods(o: CustomerObject): string[] {
  const refs =
    o.kind === 'Endpoints'
      ? arr(o.body.subsets)
          .filter(isObj)
          .flatMap((s) => [...arr(s.addresses), ...arr(s.notReadyAddresses)].filter(isObj).map((a) => a.targetRef))
      : arr(o.body.endpoints)
          .filter(isObj)
          .map((e) => e.targetRef);
  return refs
    .filter(isObj)
    .filter((r) => r.kind === 'Pod')
    .map((r) => `${text(r.namespace, o.meta.namespace)}/${text(r.name, '?')}`);
}

/** The Service an Endpoints or EndpointSlice belongs to. */
const ownerName = (o: CustomerObject): string | undefined =>
  o.kind === 'Endpoints' ? o.meta.name : o.meta.labels['kubernetes.io/service-name'];

/** Why the lab cannot take a kept object at all (the lab is IPv4), or undefined. */
function unrunnable(o: CustomerObject, leftOutServices: CustomerObject[]): string | undefined {
  if (ipv6Only(o)) return `${ref(o)} is left out: it is IPv6-only (${text(o.body.clusterIP, '') || 'headless'}) and the lab is IPv4`;
  if (o.kind !== 'Endpoints' && o.kind !== 'EndpointSlice') return undefined;
  const owner = leftOutServices.find((s) => s.meta.namespace === o.meta.namespace && s.meta.name === ownerName(o));
  if (owner) return `${ref(o)} is left out with ${ref(owner)}, whose endpoints it holds`;
  if (o.kind === 'EndpointSlice' && o.body.addressType === 'IPv6')
    return `${ref(o)} is left out: its addressType is IPv6 and the lab is IPv4`;
  const addresses = endpointAddresses(o);
  if (addresses.length > 0 && addresses.every(isV6)) return `${ref(o)} is left out: its addresses are IPv6 only and the lab is IPv4`;
  return undefined;
}

/** What the lab runs differently from the customer's cluster in a kept object, one note each. */
function limits(o: CustomerObject, kept: CustomerObject[], pod: CustomerObject, notes: string[]): void {
  if (o.kind === 'ServiceEntry') {
    const v6 = [...strs(o.body.addresses), ...arr(o.body.endpoints).map((e) => (isObj(e) ? text(e.address, '') : ''))].filter(isV6);
    if (v6.length > 0)
      notes.push(
        `${ref(o)}: its IPv6 addresses ${v6.join(', ')} are kept as sent, but the lab is IPv4: no probe or server in it uses them`,
      );
  }
  if (o.kind === 'Endpoints' || o.kind === 'EndpointSlice') {
    const v6 = endpointAddresses(o).filter(isV6);
    if (v6.length > 0)
      notes.push(
        `${ref(o)}: its IPv6 addresses ${v6.join(', ')} are kept as sent, but the lab is IPv4: no probe or server in it uses them`,
      );
  }
  if (o.kind === 'Service') {
    const v6 = strs(o.body.clusterIPs).filter(isV6);
    if (v6.length > 0)
      notes.push(
        `${ref(o)}: its IPv6 ClusterIP ${v6.join(', ')} is kept, but the lab is IPv4: its control plane reads the Service as IPv4 only`,
      );
    const odd = arr(o.body.ports)
      .filter(isObj)
      .filter((p) => !['TCP', 'UDP', undefined].includes(p.protocol as string | undefined));
    for (const p of odd)
      notes.push(
        `${ref(o)}: port ${String(p.port)} (${String(p.protocol)}) is kept, but the lab's probes and servers are TCP and UDP only`,
      );
    const type = text(o.body.type, 'ClusterIP');
    if (type === 'NodePort' || type === 'LoadBalancer')
      notes.push(
        `${ref(o)} is a ${type} Service: Istio reads it as it is, but the lab's hosts files and kube-proxy rules take ClusterIP Services only, so its name does not resolve in the lab`,
      );
    if (type !== 'ExternalName') endpointsNote(o, kept, pod, notes);
  }
  if (o.kind === 'DestinationRule' || o.kind === 'Sidecar') {
    const tls = JSON.stringify(o.body).match(/"(credentialName|caCertificates|clientCertificate|privateKey|caCrl)"/g);
    if (tls)
      notes.push(
        `${ref(o)}: its TLS settings name ${[...new Set(tls.map((t) => t.slice(1, -1)))].join(', ')}, Secrets or files that are not in the lab`,
      );
  }
}

/** A Service whose endpoints are Pods: only the client pod is imported, and Istio skips an endpoint whose Pod it does not know. */
function endpointsNote(svc: CustomerObject, kept: CustomerObject[], pod: CustomerObject, notes: string[]): void {
  const own = kept.filter(
    (o) =>
      (o.kind === 'Endpoints' || o.kind === 'EndpointSlice') && o.meta.namespace === svc.meta.namespace && ownerName(o) === svc.meta.name,
  );
  const client = `${pod.meta.namespace}/${pod.meta.name}`;
  const pods = [...new Set(own.flatMap(endpointPods))].filter((p) => p !== client);
  if (pods.length > 0)
    notes.push(
      `${ref(svc)}: its endpoints are Pods that are not imported (${pods.join(', ')}; only the client pod is), and Istio skips an endpoint whose Pod it does not know (pilot/pkg/serviceregistry/kube/controller/endpointslice.go), so in the lab the Service has none of them`,
    );
  else if (isObj(svc.body.selector) && own.length === 0)
    notes.push(
      `${ref(svc)}: it selects Pods that are not imported (only the client pod is) and none of its endpoints were sent, so in the lab its endpoints are only the pods the lab runs that it selects`,
    );
}

/** External servers: one per destination address (destinations on one address share it), never on a Service's ClusterIP. */
function servers(req: ImportRequest, clusterIps: Set<string>, notes: string[]) {
  const out: Array<{ name: string; kind: ServerKind; addresses: string[]; ports: number[]; hostnames: string[] }> = [];
  let spare = 10;
  for (const d of req.destinations) {
    let address = req.relevance.resolved.get(d.text);
    if (address && clusterIps.has(address)) {
      notes.push(`${d.text}: a Service's ClusterIP: the sidecar sends it to the Service's endpoints, so no server is made for it`);
      continue;
    }
    const hostnames = isIPv4(d.host) ? [] : [d.host];
    if (!address) {
      address = `203.0.113.${spare++}`;
      notes.push(`${d.text}: the objects do not say where ${d.host} points; the lab's DNS answers ${address} (a documentation address)`);
    }
    const same = out.find((s) => s.addresses[0] === address && s.kind === d.kind);
    if (same) {
      if (!same.ports.includes(d.port)) same.ports.push(d.port);
      continue;
    }
    out.push({
      name: dnsLabel(`${isIPv4(d.host) ? d.kind : d.host}-${address}`),
      kind: d.kind,
      addresses: [address],
      ports: [d.port],
      hostnames,
    });
  }
  return out;
}

function probe(d: Destination & { kind: ServerKind }, from: string) {
  const name = dnsLabel(`${d.kind}-${d.host}-${d.port}`);
  const block = serverType(d.kind).defaultProbe(d.host, d.port);
  return { name, description: `${d.text} as the customer's pod dials it`, from, ...block, expect: {} };
}

/**
 * The customer's mesh config as the scenario's meshConfig: whole (the lab sets what upstream Envoy
 * needs over it, and says so when it runs), but for defaultConfig.proxyMetadata, istio-proxy's
 * environment, which can carry tokens, as the pod's own can. Without an outbound policy in it, the
 * lab carries the policy in a Sidecar `default` of the pod's namespace (scenario/outboundPolicy.ts),
 * which would take the place of a root-namespace or workload Sidecar: then Istio's default policy is
 * written out, so that the customer's Sidecar stays the one that applies.
 */
function meshConfigOf(req: ImportRequest, sidecars: CustomerObject[], notes: string[]): Record<string, unknown> | undefined {
  if (req.meshConfig === undefined)
    notes.push(
      "no mesh config was sent (the istio ConfigMap's mesh key): Istio's defaults are assumed, outbound policy ALLOW_ANY included",
    );
  const given = structuredClone(req.meshConfig ?? {});
  const dc = given.defaultConfig;
  if (isObj(dc) && dc.proxyMetadata !== undefined) {
    delete dc.proxyMetadata;
    notes.push("the mesh config's defaultConfig.proxyMetadata (istio-proxy's environment) is left out");
  }
  const podNs = req.pod.meta.namespace;
  const ownSidecar = (sc: CustomerObject) => sc.meta.namespace === podNs && !isObj(sc.body.workloadSelector);
  if (given.outboundTrafficPolicy === undefined && sidecars.some((sc) => !ownSidecar(sc)))
    given.outboundTrafficPolicy = { mode: 'ALLOW_ANY' };
  return req.meshConfig !== undefined || given.outboundTrafficPolicy !== undefined ? given : undefined;
}

/** What the sidecar model reads of a mesh config: the outbound policy's mode alone (model/unmodelled.ts). */
function modelReads(mesh: Record<string, unknown>): boolean {
  const keys = Object.keys(mesh);
  const policy = mesh.outboundTrafficPolicy;
  return (
    keys.every((k) => k === 'outboundTrafficPolicy') && (policy === undefined || (isObj(policy) && Object.keys(policy).join() === 'mode'))
  );
}

/** The seed era runs only on the sidecar model, which reads no verbatim object: such an import could not run. */
function refuseSeedEra(istio: string, objects: number, mesh: Record<string, unknown> | undefined): void {
  const v = parseIstioVersion(istio);
  if (typeof v === 'string' || v.era !== 'legacy' || (objects === 0 && (mesh === undefined || modelReads(mesh)))) return;
  const modern = SUPPORTED_RANGES.filter((r) => r.era === 'modern').map((r) => `1.${r.from}-1.${r.to}`);
  throw new ImportError(
    `Istio ${istio} is the seed era, which runs only on the sidecar model, and the model does not read objects or a mesh config given as they are: pass --istio ${modern.join(' or ')} to run them on real Istio`,
  );
}

/** Says, above each object in the file, why it was kept. */
function commentKept(doc: Document, reasons: string[][]): void {
  const seq = doc.get('objects', true);
  if (!isSeq(seq)) return;
  seq.items.forEach((item, i) => {
    if (isMap(item) && reasons[i]) item.commentBefore = reasons[i].map((r) => ` kept: ${r}`).join('\n');
  });
}

/** A comment above a top-level key. */
function commentKey(doc: Document, key: string, comment: string): void {
  const top = doc.contents;
  if (!isMap(top)) return;
  const pair = top.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = comment;
}

export function importedScenario(req: ImportRequest): ImportedScenario {
  const notes: string[] = [];
  const leftOutServices = req.relevance.kept.map((k) => k.object).filter(ipv6Only);
  const runnable: KeptObject[] = [];
  for (const k of req.relevance.kept) {
    const why = unrunnable(k.object, leftOutServices);
    if (why === undefined) runnable.push(k);
    else notes.push(why);
  }
  const objects = runnable.map((k) => k.object);
  for (const o of objects) limits(o, objects, req.pod, notes);
  const w = workload(req.pod, notes);
  const meshConfig = meshConfigOf(
    req,
    objects.filter((o) => o.kind === 'Sidecar'),
    notes,
  );
  refuseSeedEra(req.istio, objects.length, meshConfig);
  const clusterIps = new Set(
    objects
      .filter((o) => o.kind === 'Service')
      .flatMap((o) => [text(o.body.clusterIP, ''), ...strs(o.body.clusterIPs)])
      .filter((ip) => isIPv4(ip)),
  );
  const scenario = {
    name: req.name,
    description: `Imported by egress-lab import from ${req.inputs.map((f) => basename(f)).join(', ')}: pod ${req.pod.meta.namespace}/${req.pod.meta.name} to ${req.destinations.map((d) => d.text).join(', ')}.`,
    tags: ['imported'],
    istio: req.istio,
    lab: { podCIDR: `${w.ip.split('.').slice(0, 3).join('.')}.0/24` },
    workloads: [w],
    ...(meshConfig ? { meshConfig } : {}),
    ...(objects.length > 0 ? { objects: objects.map(verbatim) } : {}),
    externalServers: servers(req, clusterIps, notes),
    probes: req.destinations.map((d) => probe(d, w.name)),
  };
  const doc = new Document(scenario);
  commentKept(
    doc,
    runnable.map((k) => k.reasons),
  );
  if (meshConfig)
    commentKey(
      doc,
      'meshConfig',
      req.meshConfig === undefined
        ? " No mesh config was sent: Istio's default outbound policy is written out, so that the lab adds no Sidecar of its own for it."
        : ` The mesh config (the istio ConfigMap's mesh key)${req.meshConfig.outboundTrafficPolicy === undefined && meshConfig.outboundTrafficPolicy !== undefined ? ", with Istio's default outbound policy written out, so that the lab adds no Sidecar of its own for it" : ''}; the lab sets what upstream Envoy needs over it, and says so when it runs.`,
    );
  const kept = req.relevance.kept;
  doc.commentBefore = [
    ` egress-lab import: ${kept.length} of the customer's objects kept (each says why), ${req.relevance.dropped.length} on the destinations' ports left out, ${req.relevance.elsewhere} elsewhere.`,
    ' The kept objects are as the customer sent them, less what the API server sets (uid, resourceVersion, managedFields, status, ...).',
    ...req.relevance.dropped.map((d) => ` left out ${d.what}: ${d.why}`),
    ...notes.map((n) => ` note: ${n}`),
    ' The probes have no expectations yet: run with --record, or edit them.',
  ].join('\n');
  return { yaml: doc.toString({ lineWidth: 0 }), notes };
}

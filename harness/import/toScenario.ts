/**
 * The kept customer objects as a scenario file: the client pod as a workload, the objects in the
 * scenario's mesh section (each with a comment saying why it was kept), one external server per
 * destination and one probe per destination with no expectations yet. Fields the scenario format
 * has no place for are left out and listed, never guessed. Pure: no I/O.
 */
import { Document, isMap, isSeq, parse as parseYaml } from 'yaml';
import { toGoYaml } from '../core/goYaml.ts';
import { isIPv4 } from 'node:net';
import { basename } from 'node:path';
import type { CustomerObject } from './customerObjects.ts';
import { ImportError } from './customerObjects.ts';
import type { Destination, Relevance } from './relevance.ts';
import { serverType, type ServerKind } from '../servers/registry.ts';

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
  /** What was left out of the kept objects because the format has no field for it. */
  notes: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
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
  };
}

const ref = (o: CustomerObject) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`;

/** A name the scenario format takes (a DNS label); a changed one is noted. */
function nameOf(o: CustomerObject, notes: string[]): string {
  const n = dnsLabel(o.meta.name);
  if (n !== o.meta.name) notes.push(`${ref(o)}: named ${n} in the scenario (its names are DNS labels)`);
  return n;
}

function service(o: CustomerObject, order: number, notes: string[]) {
  const ports = arr(o.body.ports)
    .filter(isObj)
    .filter((p) => {
      const ok = ['TCP', 'UDP', undefined].includes(p.protocol as string | undefined);
      if (!ok) notes.push(`${ref(o)}: port ${String(p.port)} (${String(p.protocol)}) left out: the lab has TCP and UDP only`);
      return ok;
    })
    .map((p) => {
      if (typeof p.targetPort === 'string')
        notes.push(`${ref(o)}: port ${String(p.port)}'s named targetPort "${p.targetPort}" is left out; its endpoints carry the port`);
      const appProtocol = text(p.appProtocol, '');
      return {
        name: text(p.name, ''),
        port: Number(p.port),
        ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
        protocol: text(p.protocol, 'TCP'),
        ...(appProtocol ? { appProtocol } : {}),
      };
    });
  if (o.body.selector)
    notes.push(`${ref(o)}: its selector is left out (only the client pod is imported); its endpoints are kept as addresses`);
  return { name: nameOf(o, notes), namespace: o.meta.namespace, clusterIP: String(o.body.clusterIP), ports, creationOrder: order };
}

/** Endpoints and EndpointSlices of one Service as the scenario's Endpoints (ready addresses, named ports). */
function endpointsOf(svc: CustomerObject, sources: CustomerObject[], notes: string[]) {
  const addresses = new Set<string>();
  const ports = new Map<string, number>();
  for (const o of sources) {
    if (o.kind === 'Endpoints') {
      for (const s of arr(o.body.subsets).filter(isObj)) {
        for (const a of arr(s.addresses).filter(isObj)) addresses.add(String(a.ip));
        for (const p of arr(s.ports).filter(isObj)) ports.set(text(p.name, ''), Number(p.port));
      }
    } else {
      for (const e of arr(o.body.endpoints).filter(isObj)) {
        if (isObj(e.conditions) && e.conditions.ready === false) continue;
        for (const a of strs(e.addresses)) addresses.add(a);
      }
      for (const p of arr(o.body.ports).filter(isObj)) if (typeof p.port === 'number') ports.set(text(p.name, ''), p.port);
    }
  }
  const ipv4 = [...addresses].filter((a) => isIPv4(a));
  if (ipv4.length < addresses.size)
    notes.push(`${ref(svc)}: endpoints ${[...addresses].filter((a) => !isIPv4(a)).join(', ')} left out (the lab is IPv4)`);
  if (ipv4.length === 0 || ports.size === 0) return undefined;
  return {
    name: dnsLabel(svc.meta.name),
    namespace: svc.meta.namespace,
    addresses: ipv4,
    ports: [...ports].map(([name, port]) => ({ name, port })),
  };
}

/** Copies the fields the format has; names the others. */
function pick(o: CustomerObject, fields: string[], notes: string[]): Record<string, unknown> {
  const left = Object.keys(o.body).filter((k) => !fields.includes(k));
  if (left.length > 0)
    notes.push(`${o.kind} ${o.meta.namespace}/${o.meta.name}: left out ${left.join(', ')} (the scenario format has no field for it)`);
  return Object.fromEntries(fields.filter((f) => o.body[f] !== undefined).map((f) => [f, o.body[f]]));
}

function serviceEntry(o: CustomerObject, notes: string[]) {
  const b = pick(o, ['hosts', 'addresses', 'ports', 'resolution', 'location', 'exportTo', 'endpoints'], notes);
  const ports = arr(b.ports)
    .filter(isObj)
    .map((p) => ({
      number: Number(p.number),
      name: text(p.name, ''),
      protocol: text(p.protocol, ''),
      ...(p.targetPort ? { targetPort: Number(p.targetPort) } : {}),
    }));
  const v6 = (a: string) => a.includes(':');
  const addresses = strs(b.addresses);
  const endpoints = arr(b.endpoints)
    .filter(isObj)
    .filter((e) => !v6(String(e.address)))
    .map((e) => ({ address: String(e.address), ...(isObj(e.ports) ? { ports: e.ports } : {}) }));
  if (addresses.some(v6) || arr(b.endpoints).some((e) => isObj(e) && v6(String(e.address))))
    notes.push(`${ref(o)}: IPv6 addresses left out (the lab is IPv4)`);
  const rest = { ...b, ...(b.addresses ? { addresses: addresses.filter((a) => !v6(a)) } : {}) };
  return { name: nameOf(o, notes), namespace: o.meta.namespace, ...rest, ports, ...(endpoints.length ? { endpoints } : {}) };
}

function virtualService(o: CustomerObject, notes: string[]) {
  const b = pick(o, ['hosts', 'exportTo', 'http'], notes);
  const http = arr(b.http)
    .filter(isObj)
    .map((h, i) => {
      const left = Object.keys(h).filter((k) => k !== 'timeout' && k !== 'route');
      if (left.length)
        notes.push(
          `VirtualService ${o.meta.namespace}/${o.meta.name}: http[${i}]: left out ${left.join(', ')} (the scenario format has no field for it)`,
        );
      const route = arr(h.route)
        .filter(isObj)
        .map((r) => {
          const d = isObj(r.destination) ? r.destination : {};
          const port = isObj(d.port) && d.port.number ? { port: { number: Number(d.port.number) } } : {};
          return { destination: { host: String(d.host), ...port }, ...(r.weight !== undefined ? { weight: Number(r.weight) } : {}) };
        });
      const timeout = text(h.timeout, '');
      return { ...(timeout ? { timeout: seconds(timeout) } : {}), route };
    })
    .filter((h) => h.route.length > 0);
  return { name: nameOf(o, notes), namespace: o.meta.namespace, hosts: b.hosts, ...(b.exportTo ? { exportTo: b.exportTo } : {}), http };
}

/** A Go duration as Istio writes it ("1m30s", "1h", "250ms") in seconds, the form the format takes. */
export function seconds(d: string): string {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== d) return d;
  const total = parts.reduce((sum, m) => sum + Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms'], 0);
  return /^\d+(\.\d+)?(ms|s|m)$/.test(d) ? d : `${Number(total.toFixed(3))}s`;
}

/** DestinationRules and Sidecars as their spec; the secrets and files TLS settings name are not in the lab. */
function specObject(o: CustomerObject, notes: string[]) {
  const tls = JSON.stringify(o.body).match(/"(credentialName|caCertificates|clientCertificate|privateKey)"/g);
  if (tls)
    notes.push(`${ref(o)}: its TLS settings name ${[...new Set(tls)].join(', ')}, which the lab does not have (copied as names only)`);
  return { name: nameOf(o, notes), namespace: o.meta.namespace, spec: o.body };
}

/** External servers: one per destination address (destinations on one address share it), never on a Service's ClusterIP. */
function servers(req: ImportRequest, clusterIps: Set<string>, notes: string[]) {
  const out: Array<{ name: string; kind: ServerKind; addresses: string[]; ports: number[]; hostnames: string[] }> = [];
  let spare = 10;
  for (const d of req.destinations) {
    let address = req.relevance.resolved.get(d.text);
    if (address && clusterIps.has(address)) {
      notes.push(`${d.text}: a Service's ClusterIP; the lab reaches it through the Service's endpoints (no server is made for it)`);
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

function policyOf(mesh: Record<string, unknown> | undefined): 'ALLOW_ANY' | 'REGISTRY_ONLY' {
  const mode = isObj(mesh?.outboundTrafficPolicy) ? mesh.outboundTrafficPolicy.mode : undefined;
  return mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY';
}

/** Says, above each kept object in the file, why it was kept. */
function commentKept(doc: Document, section: string, reasons: string[][]): void {
  const seq = doc.getIn(['mesh', section], true);
  if (!isSeq(seq)) return;
  seq.items.forEach((item, i) => {
    if (isMap(item) && reasons[i]) item.commentBefore = reasons[i].map((r) => ` kept: ${r}`).join('\n');
  });
}

export function importedScenario(req: ImportRequest): ImportedScenario {
  const notes: string[] = [];
  const kept = req.relevance.kept;
  const byKind = (k: string) => kept.filter((x) => x.object.kind === k);
  const byAge = (a: { object: CustomerObject }, b: { object: CustomerObject }) =>
    (a.object.meta.creationTimestamp ?? '').localeCompare(b.object.meta.creationTimestamp ?? '');
  const services = byKind('Service')
    .filter((x) => {
      const ip = String(x.object.body.clusterIP);
      if (ip === 'None' || isIPv4(ip)) return true;
      notes.push(`${ref(x.object)}: left out, its ClusterIP ${ip} is not IPv4 (the lab is IPv4)`);
      return false;
    })
    .sort(byAge);
  const epSources = kept.filter((x) => x.object.kind === 'Endpoints' || x.object.kind === 'EndpointSlice').map((x) => x.object);
  const mesh = {
    outboundTrafficPolicy: policyOf(req.meshConfig),
    services: services.map((s, i) => service(s.object, i, notes)),
    endpoints: services
      .map((s) =>
        endpointsOf(
          s.object,
          epSources.filter(
            (e) =>
              e.meta.namespace === s.object.meta.namespace &&
              (e.meta.name === s.object.meta.name || e.meta.labels['kubernetes.io/service-name'] === s.object.meta.name),
          ),
          notes,
        ),
      )
      .filter((e) => e !== undefined),
    serviceEntries: byKind('ServiceEntry').map((x) => serviceEntry(x.object, notes)),
    virtualServices: byKind('VirtualService').map((x) => virtualService(x.object, notes)),
    destinationRules: byKind('DestinationRule').map((x) => specObject(x.object, notes)),
    sidecars: byKind('Sidecar').map((x) => specObject(x.object, notes)),
  };
  const w = workload(req.pod, notes);
  const clusterIps = new Set(mesh.services.map((s) => s.clusterIP));
  const scenario = {
    name: req.name,
    description: `Imported by egress-lab import from ${req.inputs.map((f) => basename(f)).join(', ')}: pod ${req.pod.meta.namespace}/${req.pod.meta.name} to ${req.destinations.map((d) => d.text).join(', ')}.`,
    tags: ['imported'],
    istio: req.istio,
    lab: { podCIDR: `${w.ip.split('.').slice(0, 3).join('.')}.0/24` },
    workloads: [w],
    mesh,
    externalServers: servers(req, clusterIps, notes),
    probes: req.destinations.map((d) => probe(d, w.name)),
  };
  const doc = new Document(scenario);
  commentKept(
    doc,
    'services',
    services.map((s) => s.reasons),
  );
  commentKept(
    doc,
    'serviceEntries',
    byKind('ServiceEntry').map((s) => s.reasons),
  );
  commentKept(
    doc,
    'virtualServices',
    byKind('VirtualService').map((s) => s.reasons),
  );
  commentKept(
    doc,
    'destinationRules',
    byKind('DestinationRule').map((s) => s.reasons),
  );
  commentKept(
    doc,
    'sidecars',
    byKind('Sidecar').map((s) => s.reasons),
  );
  const meshKeys = Object.keys(req.meshConfig ?? {}).filter((k) => k !== 'outboundTrafficPolicy');
  if (meshKeys.length > 0) notes.push(`mesh config: only outboundTrafficPolicy is modelled; left out ${meshKeys.join(', ')}`);
  doc.commentBefore = [
    ` egress-lab import: ${kept.length} of the customer's objects kept (each says why), ${req.relevance.dropped.length} on the destinations' ports left out, ${req.relevance.elsewhere} elsewhere.`,
    ...req.relevance.dropped.map((d) => ` left out ${d.what}: ${d.why}`),
    ...notes.map((n) => ` note: ${n}`),
    ' The probes have no expectations yet: run with --record, or edit them.',
  ].join('\n');
  return { yaml: doc.toString({ lineWidth: 0 }), notes };
}

/**
 * Which of a customer's objects can affect one pod's traffic to some destinations, and why each
 * kept one was kept. The rules follow how istiod builds a sidecar's outbound listeners
 * (pilot/pkg/networking/core/listener.go): a connection to IP:PORT goes to the listener IP_PORT if
 * one exists, else 0.0.0.0_PORT, else virtualOutbound. So on the destination's port:
 * - an object whose address is the destination makes IP_PORT;
 * - an HTTP port, a headless Service, or a ServiceEntry without addresses makes (or joins)
 *   0.0.0.0_PORT, which every other address on that port reaches (seed 002);
 * - a TCP or sniffed port on another ClusterIP makes only ITS_IP_PORT, which this connection never
 *   reaches, so it is dropped, as is anything on other ports.
 * Visibility (exportTo, a Sidecar's egress hosts; pilot/pkg/model/sidecar.go) is applied first.
 * Pure: no I/O. test/integration/importScenario.test.ts checks the rules against real Istio: the
 * kept objects give the pod the same path as all of them.
 */
import { kubernetesPortProtocol, listenerClass, serviceEntryPortProtocol } from '../model/protocol.ts';
import { cidrContains } from '../model/net.ts';
import { isIPv4 } from 'node:net';
import type { CustomerObject } from './customerObjects.ts';

export interface Destination {
  host: string;
  port: number;
  /** As given: "10.10.13.110:3306". */
  text: string;
}

export interface KeptObject {
  object: CustomerObject;
  reasons: string[];
}

export interface Relevance {
  kept: KeptObject[];
  /** Objects on a destination's port, or hidden from the pod, that were left out, and why. */
  dropped: Array<{ what: string; why: string }>;
  /** How many objects were left out because nothing of them is on a destination's port. */
  elsewhere: number;
  /** Each destination's address, when the objects say it (a Service's ClusterIP, a ServiceEntry address). */
  resolved: Map<string, string | undefined>;
}

const ref = (o: CustomerObject) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).map(String);

/** Names a Service answers to from a pod in `from` (the pod's search path: ns.svc.cluster.local, svc.cluster.local, cluster.local). */
export function serviceNames(name: string, namespace: string, from: string): string[] {
  const fqdn = `${name}.${namespace}.svc.cluster.local`;
  return [fqdn, `${name}.${namespace}.svc`, `${name}.${namespace}`, ...(namespace === from ? [name] : [])];
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern === '*' || pattern === host || (pattern.startsWith('*.') && host.endsWith(pattern.slice(1)));
}

/** exportTo: "*" everyone, "." own namespace, "~" nobody, or namespaces by name (default "*"). */
function exported(exportTo: string[], own: string, to: string): boolean {
  const list = exportTo.length > 0 ? exportTo : ['*'];
  return list.some((e) => e === '*' || (e === '.' && own === to) || e === to);
}

function exportToOf(o: CustomerObject): string[] {
  if (o.kind === 'Service') return (o.meta.annotations['networking.istio.io/exportTo'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return strs(o.body.exportTo);
}

/** The Sidecar that applies to the pod: its namespace's (selector matching, else without selector), else the root namespace's. */
export function applicableSidecar(objects: CustomerObject[], pod: CustomerObject, rootNamespace: string): CustomerObject | undefined {
  const selects = (s: CustomerObject) => {
    const sel = isObj(s.body.workloadSelector) && isObj(s.body.workloadSelector.labels) ? s.body.workloadSelector.labels : undefined;
    return sel ? Object.entries(sel).every(([k, v]) => pod.meta.labels[k] === String(v)) : undefined;
  };
  const sidecars = objects.filter((o) => o.kind === 'Sidecar');
  const own = sidecars.filter((s) => s.meta.namespace === pod.meta.namespace);
  return own.find((s) => selects(s) === true) ?? own.find((s) => selects(s) === undefined) ?? sidecars.find((s) => s.meta.namespace === rootNamespace && selects(s) === undefined);
}

/** A Sidecar's egress hosts ("ns/host") admit a host of a namespace. No Sidecar, or no egress: everything. */
function admittedBySidecar(sidecar: CustomerObject | undefined, podNs: string, objNs: string, hosts: string[]): boolean {
  const egress = arr(sidecar?.body.egress);
  if (!sidecar || egress.length === 0) return true;
  const patterns = egress.flatMap((e) => (isObj(e) ? strs(e.hosts) : []));
  return patterns.some((p) => {
    const [ns, host] = p.includes('/') ? (p.split('/', 2) as [string, string]) : ['*', p];
    const nsOk = ns === '*' || ns === objNs || (ns === '.' && objNs === podNs);
    return nsOk && hosts.some((h) => hostMatches(host, h));
  });
}

interface PortInfo {
  port: number;
  cls: 'http' | 'tcp' | 'auto' | 'none';
  label: string;
}

function servicePorts(o: CustomerObject): PortInfo[] {
  return arr(o.body.ports)
    .filter(isObj)
    .map((p) => {
      const name = String(p.name ?? '');
      const proto = kubernetesPortProtocol({ name, port: Number(p.port), protocol: String(p.protocol ?? 'TCP'), ...(p.appProtocol ? { appProtocol: String(p.appProtocol) } : {}) });
      return { port: Number(p.port), cls: listenerClass(proto), label: `port ${String(p.port)}${name ? ` ("${name}")` : ''} as ${proto === 'AUTO' ? 'undeclared (sniffed)' : proto}` };
    });
}

function serviceEntryPorts(o: CustomerObject): PortInfo[] {
  return arr(o.body.ports)
    .filter(isObj)
    .map((p) => {
      const proto = serviceEntryPortProtocol(String(p.protocol ?? '').toUpperCase());
      return { port: Number(p.number), cls: listenerClass(proto), label: `port ${String(p.number)} as ${proto === 'AUTO' ? 'undeclared (sniffed)' : proto}` };
    });
}

function addressesOf(o: CustomerObject): string[] {
  if (o.kind === 'Service') {
    const ip = String(o.body.clusterIP ?? '');
    return ip && ip !== 'None' ? [ip] : [];
  }
  return strs(o.body.addresses);
}

function hasAddress(addresses: string[], ip: string | undefined): boolean {
  if (!ip || !isIPv4(ip)) return false;
  return addresses.some((a) => (a.includes('/') ? cidrContains(a, ip) : a === ip));
}

function hostsOf(o: CustomerObject, podNs: string): string[] {
  if (o.kind === 'Service') return serviceNames(o.meta.name, o.meta.namespace, podNs);
  return strs(o.body.hosts);
}

/** Where the destination's host points, from the objects (undefined: an external name the objects do not say). */
function resolve(d: Destination, services: CustomerObject[], podNs: string): string | undefined {
  if (isIPv4(d.host)) return d.host;
  for (const o of services) {
    if (!hostsOf(o, podNs).includes(d.host)) continue;
    const a = addressesOf(o).find((x) => isIPv4(x) || x.endsWith('/32'));
    if (a) return a.replace(/\/32$/, '');
  }
  return undefined;
}

/** Why a service-like object (Service or ServiceEntry) affects one destination, or undefined if it does not. */
function affects(o: CustomerObject, d: Destination, ip: string | undefined, podNs: string): string | undefined {
  const addresses = addressesOf(o);
  const names = hostsOf(o, podNs);
  const onPort = (o.kind === 'Service' ? servicePorts(o) : serviceEntryPorts(o)).find((p) => p.port === d.port);
  if (names.some((n) => hostMatches(n, d.host)) && onPort) return `it is ${d.text}'s own ${o.kind} (host ${d.host}), ${onPort.label}`;
  if (!onPort) return undefined;
  if (hasAddress(addresses, ip)) return `its address is ${ip}, so it makes the listener ${ip}_${d.port} (${onPort.label})`;
  if (onPort.cls === 'http') return `it declares ${onPort.label}: Istio gives every sidecar one 0.0.0.0_${d.port} listener for HTTP on that port, which ${d.text} reaches`;
  const headless = o.kind === 'Service' ? String(o.body.clusterIP) === 'None' : addresses.length === 0;
  if (headless) {
    const what = o.kind === 'Service' ? 'a headless Service' : 'a ServiceEntry without addresses';
    return `${what} with ${onPort.label}: its listener is 0.0.0.0_${d.port}, which takes every address on the port, ${d.text} included`;
  }
  return undefined;
}

function droppedOnPort(o: CustomerObject, d: Destination): string {
  const a = addressesOf(o);
  return `its ${d.port} listener is on ${a.join(', ')} only (TCP or sniffed), which ${d.text} never reaches`;
}

/** Which objects to keep for the pod's traffic to the destinations. */
export function relevantObjects(objects: CustomerObject[], pod: CustomerObject, destinations: Destination[], rootNamespace = 'istio-system'): Relevance {
  const podNs = pod.meta.namespace;
  const sidecar = applicableSidecar(objects, pod, rootNamespace);
  const out: Relevance = { kept: [], dropped: [], elsewhere: 0, resolved: new Map() };
  const reasons = new Map<CustomerObject, string[]>();
  const keep = (o: CustomerObject, why: string) => reasons.set(o, [...(reasons.get(o) ?? []), why]);
  const visible = (o: CustomerObject): string | undefined => {
    if (!exported(exportToOf(o), o.meta.namespace, podNs)) return `exportTo ${JSON.stringify(exportToOf(o))} hides it from namespace ${podNs}`;
    if (!admittedBySidecar(sidecar, podNs, o.meta.namespace, hostsOf(o, podNs))) return `Sidecar ${sidecar!.meta.namespace}/${sidecar!.meta.name}'s egress hosts leave it out`;
    return undefined;
  };
  if (sidecar) keep(sidecar, `it is the Sidecar that applies to ${podNs}/${pod.meta.name}: it decides what the pod's sidecar sees`);

  const services = objects.filter((o) => o.kind === 'Service' || o.kind === 'ServiceEntry');
  for (const d of destinations) out.resolved.set(d.text, resolve(d, services.filter((o) => visible(o) === undefined), podNs));
  for (const o of services) {
    const onPorts = destinations.filter((d) => (o.kind === 'Service' ? servicePorts(o) : serviceEntryPorts(o)).some((p) => p.port === d.port));
    const hidden = visible(o);
    if (hidden) {
      if (onPorts.length > 0) out.dropped.push({ what: ref(o), why: `not visible to the pod: ${hidden}` });
      else out.elsewhere++;
      continue;
    }
    const whys = destinations.map((d) => affects(o, d, out.resolved.get(d.text), podNs)).filter((w): w is string => w !== undefined);
    if (whys.length > 0) whys.forEach((w) => keep(o, w));
    else if (onPorts.length > 0) out.dropped.push({ what: ref(o), why: droppedOnPort(o, onPorts[0]!) });
    else out.elsewhere++;
  }
  const keptHosts = new Set([...reasons.keys()].filter((o) => o.kind !== 'Sidecar').flatMap((o) => hostsOf(o, podNs)));
  for (const d of destinations) keptHosts.add(d.host);
  for (const o of objects.filter((x) => x.kind === 'VirtualService' || x.kind === 'DestinationRule')) {
    const hosts = o.kind === 'VirtualService' ? strs(o.body.hosts) : [String(o.body.host ?? '')];
    const match = hosts.find((h) => [...keptHosts].some((k) => hostMatches(h, k) || hostMatches(k, h)));
    const hidden = visible(o);
    if (match && !hidden) keep(o, `it applies to ${match}, a kept host`);
    else if (match) out.dropped.push({ what: ref(o), why: `not visible to the pod: ${hidden}` });
    else out.elsewhere++;
  }
  // Endpoints of kept Services: their addresses are where the Service's cluster sends traffic.
  const keptServices = [...reasons.keys()].filter((o) => o.kind === 'Service');
  for (const o of objects.filter((x) => x.kind === 'Endpoints' || x.kind === 'EndpointSlice')) {
    const owner = o.kind === 'Endpoints' ? o.meta.name : o.meta.labels['kubernetes.io/service-name'];
    const svc = keptServices.find((s) => s.meta.namespace === o.meta.namespace && s.meta.name === owner);
    if (svc) keep(o, `the endpoints of the kept Service ${svc.meta.namespace}/${svc.meta.name}`);
    else out.elsewhere++;
  }
  out.kept = [...reasons].map(([object, rs]) => ({ object, reasons: rs }));
  return out;
}

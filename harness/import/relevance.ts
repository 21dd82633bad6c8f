/**
 * Which of a customer's objects can affect one pod's traffic to some destinations, and why each
 * kept one was kept. The rules follow how istiod builds a sidecar's outbound listeners
 * (pilot/pkg/networking/core/listener.go): a connection to IP:PORT goes to the listener IP_PORT if
 * one exists, else 0.0.0.0_PORT, else virtualOutbound. So on the destination's port, kept are:
 * the destination's own Service or ServiceEntry; an HTTP port (0.0.0.0_PORT, whatever its
 * addresses); a ServiceEntry with a CIDR or without addresses (0.0.0.0_PORT, seed 002); a headless
 * Service or resolution-NONE ServiceEntry whose endpoints include the destination (one listener per
 * endpoint). Left out: a TCP or sniffed port on other VIPs or endpoints (their listeners never see
 * this connection), ExternalName Services (no listener), and anything on other ports.
 * Visibility (exportTo, a Sidecar's egress hosts; pilot/pkg/model/sidecar.go) is applied first.
 * Pure: no I/O. test/tools/importRelevance.test.ts checks the rules against real Istio: the
 * kept objects give the pod the same path as all of them.
 */
import { kubernetesPortProtocol, listenerClass, serviceEntryPortProtocol } from '../model/protocol.ts';
import { cidrContains } from '../core/net.ts';
import { isIPv4 } from 'node:net';
import { ImportError, type CustomerObject } from './customerObjects.ts';
import { isMapping as isObj } from '../core/mapping.ts';

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
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).map(String);
/** A string field of a checked object (the schemas make them strings), or the default when it is absent. */
const text = (v: unknown, absent: string): string => (typeof v === 'string' ? v : absent);

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
  if (o.kind === 'Service')
    return (o.meta.annotations['networking.istio.io/exportTo'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
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
  return (
    own.find((s) => selects(s) === true) ??
    own.find((s) => selects(s) === undefined) ??
    sidecars.find((s) => s.meta.namespace === rootNamespace && selects(s) === undefined)
  );
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
      const name = text(p.name, '');
      const proto = kubernetesPortProtocol({
        name,
        port: Number(p.port),
        protocol: text(p.protocol, 'TCP'),
        ...(typeof p.appProtocol === 'string' && p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      });
      return {
        port: Number(p.port),
        cls: listenerClass(proto),
        label: `port ${String(p.port)}${name ? ` ("${name}")` : ''} as ${proto === 'AUTO' ? 'undeclared (sniffed)' : proto}`,
      };
    });
}

function serviceEntryPorts(o: CustomerObject): PortInfo[] {
  return arr(o.body.ports)
    .filter(isObj)
    .map((p) => {
      const proto = serviceEntryPortProtocol(text(p.protocol, '').toUpperCase());
      return {
        port: Number(p.number),
        cls: listenerClass(proto),
        label: `port ${String(p.number)} as ${proto === 'AUTO' ? 'undeclared (sniffed)' : proto}`,
      };
    });
}

function addressesOf(o: CustomerObject): string[] {
  if (o.kind === 'Service') {
    const ip = text(o.body.clusterIP, '');
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

type Verdict = { keep: string } | { drop: string } | undefined;

const isSingle = (a: string) => !a.includes('/') || a.endsWith('/32');
const single = (addresses: string[]) => addresses.filter(isSingle).map((a) => a.replace(/\/32$/, ''));
const cidrs = (addresses: string[]) => addresses.filter((a) => !isSingle(a));

/** Endpoint IPs of a Service (Endpoints and EndpointSlices) or a ServiceEntry (its endpoints). */
function endpointIps(o: CustomerObject, objects: CustomerObject[]): string[] {
  if (o.kind === 'ServiceEntry')
    return arr(o.body.endpoints)
      .filter(isObj)
      .map((e) => String(e.address));
  const own = objects.filter(
    (x) =>
      x.meta.namespace === o.meta.namespace &&
      ((x.kind === 'Endpoints' && x.meta.name === o.meta.name) ||
        (x.kind === 'EndpointSlice' && x.meta.labels['kubernetes.io/service-name'] === o.meta.name)),
  );
  return own.flatMap((x) =>
    x.kind === 'Endpoints'
      ? arr(x.body.subsets)
          .filter(isObj)
          .flatMap((sub) =>
            arr(sub.addresses)
              .filter(isObj)
              .map((a) => String(a.ip)),
          )
      : arr(x.body.endpoints)
          .filter(isObj)
          .flatMap((e) => strs(e.addresses)),
  );
}

/**
 * What one service-like object does to a connection to one destination on its port, after
 * pilot/pkg/networking/core/listener.go: an HTTP port joins 0.0.0.0_PORT whatever its addresses; a
 * VIP makes VIP_PORT; a ServiceEntry CIDR makes 0.0.0.0_PORT (a chain for the CIDR, passthrough
 * for the rest); a Kubernetes headless Service and a resolution-NONE ServiceEntry with endpoints make
 * one listener per endpoint IP; a ServiceEntry without addresses or endpoints makes 0.0.0.0_PORT.
 */
function verdict(o: CustomerObject, d: Destination, ip: string | undefined, podNs: string, objects: CustomerObject[]): Verdict {
  const onPort = (o.kind === 'Service' ? servicePorts(o) : serviceEntryPorts(o)).find((p) => p.port === d.port);
  if (!onPort) return undefined;
  if (hostsOf(o, podNs).some((n) => hostMatches(n, d.host)))
    return { keep: `it is ${d.text}'s own ${o.kind} (host ${d.host}), ${onPort.label}` };
  if (onPort.cls === 'http')
    return {
      keep: `it declares ${onPort.label}: Istio gives every sidecar one 0.0.0.0_${d.port} listener for HTTP on that port, which ${d.text} reaches`,
    };
  const addresses = addressesOf(o);
  const eps = endpointIps(o, objects);
  if (o.kind === 'Service') {
    if (String(o.body.clusterIP) !== 'None') {
      return ip && addresses.includes(ip)
        ? { keep: `its ClusterIP is ${ip}, so it makes the listener ${ip}_${d.port} (${onPort.label})` }
        : { drop: `its ${d.port} listener is on ${addresses.join(', ')} only (${onPort.label}), which ${d.text} never reaches` };
    }
    if (ip && eps.includes(ip))
      return { keep: `a headless Service with ${onPort.label}: its listeners are one per endpoint, and ${ip} is one` };
    return {
      drop: `a headless Service: its ${d.port} listeners are one per endpoint (${eps.join(', ') || 'it has none'}), not ${ip ?? d.host}`,
    };
  }
  if (ip && isIPv4(ip) && single(addresses).includes(ip))
    return { keep: `its address is ${ip}, so it makes the listener ${ip}_${d.port} (${onPort.label})` };
  if (cidrs(addresses).length > 0) {
    const inside = ip !== undefined && isIPv4(ip) && hasAddress(cidrs(addresses), ip);
    return {
      keep: `its CIDR ${cidrs(addresses).join(', ')} makes a 0.0.0.0_${d.port} listener (a chain for the CIDR, passthrough for other addresses), which ${d.text} reaches${inside ? ' inside the CIDR' : ''}`,
    };
  }
  if (addresses.length > 0)
    return { drop: `its ${d.port} listener is on ${addresses.join(', ')} only (${onPort.label}), which ${d.text} never reaches` };
  if (text(o.body.resolution, 'NONE') === 'NONE' && eps.length > 0) {
    return ip && eps.includes(ip)
      ? { keep: `resolution NONE with endpoints: one listener per endpoint, and ${ip} is one` }
      : { drop: `resolution NONE with endpoints: its ${d.port} listeners are on ${eps.join(', ')} only` };
  }
  return {
    keep: `a ServiceEntry without addresses with ${onPort.label}: its listener is 0.0.0.0_${d.port}, which takes every address on the port, ${d.text} included`,
  };
}

/** Which objects to keep for the pod's traffic to the destinations. */
export function relevantObjects(
  objects: CustomerObject[],
  pod: CustomerObject,
  destinations: Destination[],
  rootNamespace = 'istio-system',
): Relevance {
  const podNs = pod.meta.namespace;
  const sidecar = applicableSidecar(objects, pod, rootNamespace);
  const out: Relevance = { kept: [], dropped: [], elsewhere: 0, resolved: new Map() };
  const reasons = new Map<CustomerObject, string[]>();
  const keep = (o: CustomerObject, why: string) => reasons.set(o, [...(reasons.get(o) ?? []), why]);
  const visible = (o: CustomerObject): string | undefined => {
    if (!exported(exportToOf(o), o.meta.namespace, podNs))
      return `exportTo ${JSON.stringify(exportToOf(o))} hides it from namespace ${podNs}`;
    if (!admittedBySidecar(sidecar, podNs, o.meta.namespace, hostsOf(o, podNs)))
      return `Sidecar ${sidecar!.meta.namespace}/${sidecar!.meta.name}'s egress hosts leave it out`;
    return undefined;
  };
  if (sidecar) keep(sidecar, `it is the Sidecar that applies to ${podNs}/${pod.meta.name}: it decides what the pod's sidecar sees`);

  const services = objects.filter((o) => o.kind === 'Service' || o.kind === 'ServiceEntry');
  for (const d of destinations)
    out.resolved.set(
      d.text,
      resolve(
        d,
        services.filter((o) => visible(o) === undefined),
        podNs,
      ),
    );
  for (const o of services) {
    const onPorts = destinations.filter((d) =>
      (o.kind === 'Service' ? servicePorts(o) : serviceEntryPorts(o)).some((p) => p.port === d.port),
    );
    const hidden = visible(o);
    if (hidden) {
      if (onPorts.length > 0) out.dropped.push({ what: ref(o), why: `not visible to the pod: ${hidden}` });
      else out.elsewhere++;
      continue;
    }
    if (o.kind === 'Service' && o.body.type === 'ExternalName') {
      // Resolution Alias (pilot/pkg/serviceregistry/kube/conversion.go): istiod builds it no listener.
      if (onPorts.length > 0)
        out.dropped.push({ what: ref(o), why: 'an ExternalName Service: Istio builds it no listener (an alias of another host)' });
      else out.elsewhere++;
      continue;
    }
    if (o.kind === 'Service' && typeof o.body.clusterIP !== 'string')
      throw new ImportError(`${o.source} (${ref(o)}): spec.clusterIP: expected an IP or None, as kubectl get -o yaml prints a Service`);
    const verdicts = destinations.map((d) => verdict(o, d, out.resolved.get(d.text), podNs, objects));
    const keeps = verdicts.flatMap((v) => (v && 'keep' in v ? [v.keep] : []));
    const drop = verdicts.find((v): v is { drop: string } => v !== undefined && 'drop' in v);
    if (keeps.length > 0) keeps.forEach((w) => keep(o, w));
    else if (drop) out.dropped.push({ what: ref(o), why: drop.drop });
    else out.elsewhere++;
  }
  const keptHosts = new Set([...reasons.keys()].filter((o) => o.kind !== 'Sidecar').flatMap((o) => hostsOf(o, podNs)));
  for (const d of destinations) keptHosts.add(d.host);
  for (const o of objects.filter((x) => x.kind === 'VirtualService' || x.kind === 'DestinationRule')) {
    const hosts = o.kind === 'VirtualService' ? strs(o.body.hosts) : [text(o.body.host, '')];
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

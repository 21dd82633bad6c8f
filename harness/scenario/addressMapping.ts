/**
 * The effective scenario: the scenario with the addresses a backend really uses. A scenario names
 * its servers, pods and Services by lab addresses (10.0.0.6, 10.10.13.110, 10.233.40.115...); the
 * netns lab uses them as they are, a kind cluster cannot (Docker picks the servers' addresses,
 * Kubernetes the pods' and the ClusterIPs). A backend reports what it got as AddressMappings and the
 * runner alone rewrites the scenario (harness/run/runner.ts): the probes, the expectations, the
 * config gate, the model's trace and the reports all read the one effective scenario, and the
 * report shows both addresses. Backends never import this module (test/unit/layers.test.ts). Pure.
 *
 * What is rewritten (a deep copy; the input is never touched):
 * - externalServers[].addresses, workloads[].ip, mesh.services[].clusterIP, mesh.endpoints[].addresses,
 *   mesh.serviceEntries[].endpoints[].address;
 * - mesh.serviceEntries[].addresses: "10.0.0.6" → "172.18.0.5", "10.0.0.6/32" → "172.18.0.5/32";
 * - probes: tcp/redis/mysql `host`, and http `url` when its host is an IP literal;
 * - expectations: conntrack.upstream ("10.0.0.6:7001" → "172.18.0.5:7001") and stat names that carry
 *   an address (an SE VIP listener is `listener.10.0.0.6_7000`, on kind `listener.172.18.0.5_7000`);
 * - workload annotations traffic.sidecar.istio.io/{exclude,include}OutboundIPRanges, and the
 *   matching CIDRs in that workload's iptables-save assertions (see `rewriteCidr`).
 * Not rewritten: hostnames (resolved by the pods' hostAliases), descriptions, notes, expected bytes.
 */
import { isIPv4 } from 'node:net';
import type { Scenario, Probe } from './schema.ts';
import { probeHost, withProbeHost } from '../probes/registry.ts';
import { cidrContains, parseCidr } from '../core/net.ts';
import { isCidr } from './schema.ts';

/** Scenario IP → real IP. */
export type AddressMap = Map<string, string>;

/** One address a backend could not keep: what it belongs to, the scenario's address and the real one. */
export interface AddressMapping {
  what: 'external server' | 'pod' | 'Service';
  /** The server's, workload's or Service's name (namespace/name for the last two). */
  name: string;
  scenario: string;
  real: string;
}

export function addressMap(mappings: AddressMapping[]): AddressMap {
  return new Map(mappings.filter((m) => m.scenario !== m.real).map((m) => [m.scenario, m.real]));
}

/** The effective scenario for a backend's mappings (the scenario itself when there are none). */
export function effectiveScenario(scenario: Scenario, mappings: AddressMapping[]): Scenario {
  const map = addressMap(mappings);
  return map.size === 0 ? scenario : substituteAddresses(scenario, map);
}

const RANGE_ANNOTATIONS = ['traffic.sidecar.istio.io/excludeOutboundIPRanges', 'traffic.sidecar.istio.io/includeOutboundIPRanges'];

/** One address: mapped if it is a key, unchanged otherwise. */
function ip(map: AddressMap, a: string): string {
  return map.get(a) ?? a;
}

/**
 * One IP or CIDR of an address list (ServiceEntry addresses, istio-iptables ranges):
 * - a bare mapped IP → the real IP; `IP/32` → `real/32` (the suffix is kept);
 * - a wider CIDR that contains mapped lab addresses → the real addresses as /32s, one per mapped
 *   address it contains. The kind network is a /16 that the node itself sits on, so "the real /24"
 *   does not exist: excluding 172.18.0.0/24 would also exclude the node and whatever else Docker put
 *   there. The /32s keep what the range meant in the scenario, "these servers bypass (or are
 *   captured by) the sidecar";
 * - anything else (a pod or service CIDR, "*", a VIP that is no server) → unchanged.
 */
export function rewriteCidr(entry: string, map: AddressMap): string[] {
  if (isIPv4(entry)) return [ip(map, entry)];
  if (!isCidr(entry)) return [entry];
  const { ip: base, prefix } = parseCidr(entry);
  if (prefix === 32) return [`${ip(map, base)}/32`];
  const inside = [...map.keys()].filter((lab) => cidrContains(entry, lab));
  if (inside.length === 0) return [entry];
  return [...new Set(inside.map((lab) => `${map.get(lab)}/32`))];
}

function rewriteList(list: string, map: AddressMap): string {
  return list
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)
    .flatMap((c) => rewriteCidr(c, map))
    .join(',');
}

/** Replaces whole-address occurrences inside a string (not 110.0.0.6 or 10.0.0.60 for 10.0.0.6), in one pass. */
function replaceInText(text: string, map: AddressMap): string {
  if (map.size === 0) return text;
  const keys = [...map.keys()].sort((a, b) => b.length - a.length).map((k) => k.replace(/\./g, '\\.'));
  const re = new RegExp(`(?<!\\d)(${keys.join('|')})(?!\\.?\\d)`, 'g');
  return text.replace(re, (lab) => map.get(lab) ?? lab);
}

/** "host:port" with an IP host. */
function rewriteHostPort(value: string, map: AddressMap): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)(:\d+)?$/.exec(value);
  return m ? `${ip(map, m[1]!)}${m[2] ?? ''}` : value;
}

function rewriteProbe(probe: Probe, map: AddressMap): Probe {
  // The kind's module knows where its host is (a URL's host for http); only IP literals map.
  const p = withProbeHost(probe, (host) => ip(map, host));
  const ct = p.expect.conntrack;
  if (ct?.upstream !== undefined) ct.upstream = rewriteHostPort(ct.upstream, map);
  if (p.expect.stats) {
    p.expect.stats = Object.fromEntries(Object.entries(p.expect.stats).map(([name, v]) => [replaceInText(name, map), v]));
  }
  return p;
}

/**
 * An iptables-save line checked by an assertion: each token that is a CIDR the workload's range
 * annotation had (and that `rewriteCidr` turned into /32s) becomes one line per /32, and a bare
 * mapped address or `IP/32` token is replaced.
 */
function rewriteRuleLine(line: string, rangeRewrites: Map<string, string[]>, map: AddressMap): string[] {
  let lines = [line];
  for (const [from, to] of rangeRewrites) {
    lines = lines.flatMap((l) =>
      l.split(' ').includes(from)
        ? to.map((t) =>
            l
              .split(' ')
              .map((tok) => (tok === from ? t : tok))
              .join(' '),
          )
        : [l],
    );
  }
  return lines.map((l) =>
    l
      .split(' ')
      .map((tok) => (isIPv4(tok) || (isCidr(tok) && tok.endsWith('/32')) ? rewriteCidr(tok, map)[0]! : tok))
      .join(' '),
  );
}

/**
 * Every string of a verbatim object that is an address or a CIDR, rewritten: Kubernetes and Istio
 * objects hold addresses as whole string values (Endpoints ips, ServiceEntry addresses and
 * endpoints, clusterIP), so a walk over the values finds them wherever the kind puts them.
 */
function substituteInValue(v: unknown, map: AddressMap): unknown {
  if (typeof v === 'string') {
    if (isIPv4(v)) return ip(map, v);
    if (isCidr(v)) {
      const to = rewriteCidr(v, map);
      return to.length === 1 ? to[0] : v;
    }
    return v;
  }
  if (Array.isArray(v))
    return [...new Set(v.flatMap((x) => (typeof x === 'string' && isCidr(x) ? rewriteCidr(x, map) : [substituteInValue(x, map)])))];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteInValue(x, map)]));
  return v;
}

/** The address and CIDR strings anywhere in the scenario's verbatim objects. */
function objectAddresses(s: Scenario): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (isIPv4(v) || isCidr(v)) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  s.objects.forEach(walk);
  return out;
}

export function substituteAddresses(scenario: Scenario, map: AddressMap): Scenario {
  const s = structuredClone(scenario);
  s.objects = s.objects.map((o) => substituteInValue(o, map) as Scenario['objects'][number]);
  for (const srv of s.externalServers) srv.addresses = srv.addresses.map((a) => ip(map, a));
  for (const w of s.workloads) w.ip = ip(map, w.ip);
  for (const v of s.mesh.services) v.clusterIP = ip(map, v.clusterIP);
  for (const ep of s.mesh.endpoints) ep.addresses = ep.addresses.map((a) => ip(map, a));
  for (const se of s.mesh.serviceEntries) {
    se.addresses = [...new Set(se.addresses.flatMap((a) => rewriteCidr(a, map)))];
    for (const ep of se.endpoints) ep.address = ip(map, ep.address);
  }
  const rangeRewrites = new Map<string, Map<string, string[]>>();
  for (const w of s.workloads) {
    const rewrites = new Map<string, string[]>();
    for (const key of RANGE_ANNOTATIONS) {
      const value = w.annotations[key];
      if (value === undefined) continue;
      for (const c of value
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const to = rewriteCidr(c, map);
        if (to.length !== 1 || to[0] !== c) rewrites.set(c, to);
      }
      w.annotations[key] = rewriteList(value, map);
    }
    rangeRewrites.set(w.name, rewrites);
  }
  for (const a of s.assertions) {
    if (!a.iptablesSave) continue;
    const rewrites = rangeRewrites.get(a.workload) ?? new Map<string, string[]>();
    a.iptablesSave.contains = a.iptablesSave.contains.flatMap((l) => rewriteRuleLine(l, rewrites, map));
    a.iptablesSave.absent = a.iptablesSave.absent.flatMap((l) => rewriteRuleLine(l, rewrites, map));
  }
  s.probes = s.probes.map((p) => rewriteProbe(p, map));
  return s;
}

/**
 * Lab addresses the probes and the mesh rely on that the map gives no real counterpart for; the
 * backend must refuse to run with any (a probe would dial an address that exists only in the lab).
 *
 * - every external-server address referenced by a probe (directly, or through one of the server's
 *   hostnames, which resolve to its first address), a conntrack.upstream expectation, mesh Endpoints,
 *   a ServiceEntry (address, CIDR containing it, endpoint) or a range annotation;
 * - every IP a probe dials that is nothing the scenario defines (no server, pod, ClusterIP,
 *   Endpoints or ServiceEntry address): in the lab it has no route, on kind it would go wherever the
 *   node's default route leads.
 * Pod IPs and ClusterIPs are not listed: kind assigns those and reports them after apply.
 */
export function unmappedAddresses(scenario: Scenario, map: AddressMap): string[] {
  const serverAddrs = new Set(scenario.externalServers.flatMap((srv) => srv.addresses));
  const byHostname = new Map(scenario.externalServers.flatMap((srv) => srv.hostnames.map((h) => [h, srv.addresses[0]!] as const)));
  const referenced = new Set<string>();
  const mark = (a: string | undefined) => {
    if (a !== undefined && serverAddrs.has(a)) referenced.add(a);
  };
  const markRange = (c: string) => {
    if (isIPv4(c)) mark(c);
    else if (isCidr(c)) for (const a of serverAddrs) if (cidrContains(c, a)) referenced.add(a);
  };
  const missing = new Set<string>();
  const known = new Set<string>([
    ...serverAddrs,
    ...scenario.workloads.map((w) => w.ip),
    ...scenario.mesh.services.map((v) => v.clusterIP),
    ...scenario.mesh.endpoints.flatMap((e) => e.addresses),
  ]);
  const seRanges = scenario.mesh.serviceEntries.flatMap((se) => se.addresses);
  for (const p of scenario.probes) {
    const host = probeHost(p);
    if (host !== undefined) {
      mark(host);
      mark(byHostname.get(host));
      const inSe = seRanges.some((r) => (isIPv4(r) ? r === host : cidrContains(r, host)));
      if (isIPv4(host) && !known.has(host) && !inSe && !map.has(host) && !host.startsWith('127.')) missing.add(host);
    }
    const up = p.expect.conntrack?.upstream;
    if (up !== undefined) mark(/^(\d+\.\d+\.\d+\.\d+)(:\d+)?$/.exec(up)?.[1]);
  }
  for (const e of scenario.mesh.endpoints) e.addresses.forEach(mark);
  objectAddresses(scenario).forEach(markRange);
  for (const se of scenario.mesh.serviceEntries) {
    se.addresses.forEach(markRange);
    se.endpoints.forEach((ep) => mark(ep.address));
  }
  for (const w of scenario.workloads) {
    for (const key of RANGE_ANNOTATIONS)
      (w.annotations[key] ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
        .forEach(markRange);
  }
  for (const a of referenced) if (!map.has(a)) missing.add(a);
  return [...missing].sort(compareIp);
}

function compareIp(a: string, b: string): number {
  const n = (x: string) => x.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}

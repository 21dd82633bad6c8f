/**
 * The lab's shape as plain data, derived from a scenario: which namespaces exist, how they are wired
 * to the router namespace, their addresses, routes and hosts files. Pure, so it can be unit tested
 * and printed; netns.ts applies it.
 *
 *   pod namespaces ──veth──┐                     ┌──veth── external-host namespaces
 *                          router namespace (the "node"), one bridge per subnet, ip_forward on
 *
 * No link goes to the host's own namespace, and the router has no default route, so no packet can
 * leave the lab.
 */
import { isIPv4 } from 'node:net';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { k8sHostname, selectedWorkloads } from '../model/meshServices.ts';
import { intToIp, ipToInt, parseCidr } from '../core/net.ts';
import { externalNameServices, labEndpoints, labServices } from '../scenario/labServices.ts';

export interface BridgePlan {
  name: string;
  /** The router's address on this bridge, with prefix length: the gateway of the namespaces behind it. */
  address: string;
}

export interface NamespacePlan {
  name: string;
  role: 'pod' | 'external';
  /** Workload or external server name from the scenario. */
  owner: string;
  /** Router-side veth name (carries the run prefix) and the bridge it joins. */
  routerIf: string;
  bridge: string;
  addresses: string[];
  gateway: string;
  hosts: string;
  resolvConf: string;
}

export interface DnatRule {
  clusterIP: string;
  port: number;
  to: string;
}

export interface LabPlan {
  prefix: string;
  router: string;
  /**
   * Where the control plane (lab-istiod) listens: the router's address on the pod bridge, the
   * lab's "node". Pods resolve istiod.istio-system.svc to it.
   */
  controlPlaneAddress: string;
  bridges: BridgePlan[];
  namespaces: NamespacePlan[];
  dnat: DnatRule[];
}

/** Namespace and interface names start with this, so a crashed run can be swept. */
export const LAB_PREFIX = 'egl-';

export function nsName(prefix: string, role: string, owner: string): string {
  return `${prefix}-${role}-${owner}`;
}

function subnet24(ip: string): string {
  return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

/** The router takes .1 of a subnet, or .254 if a lab host already uses .1. */
function gatewayFor(cidr: string, taken: Set<string>): string {
  const { ip, prefix } = parseCidr(cidr);
  const base = ipToInt(ip) & ((~0 << (32 - prefix)) >>> 0);
  const first = intToIp((base + 1) >>> 0);
  return taken.has(first) ? intToIp((base + 2 ** (32 - prefix) - 2) >>> 0) : first;
}

function hostsFile(s: Scenario, ownNamespace?: string, controlPlane?: string): string {
  const lines = ['127.0.0.1 localhost', '# egress-lab: cluster and external names of this lab'];
  if (controlPlane) lines.push(`${controlPlane} istiod.istio-system.svc`);
  for (const svc of labServices(s)) {
    if (svc.clusterIP === 'None') continue;
    const fqdn = k8sHostname(svc.name, svc.namespace);
    const short = [
      `${svc.name}.${svc.namespace}.svc`,
      `${svc.name}.${svc.namespace}`,
      ...(svc.namespace === ownNamespace ? [svc.name] : []),
    ];
    lines.push(`${svc.clusterIP} ${fqdn} ${short.join(' ')}`);
  }
  for (const srv of s.externalServers) if (srv.hostnames.length) lines.push(`${srv.addresses[0]} ${srv.hostnames.join(' ')}`);
  // Cluster DNS answers an ExternalName Service with a CNAME to its externalName; in the hosts file
  // that is the address the external name has here, when a lab server has it.
  for (const svc of externalNameServices(s)) {
    const target = s.externalServers.find((srv) => srv.hostnames.includes(svc.externalName));
    if (!target) continue;
    const short = [
      `${svc.name}.${svc.namespace}.svc`,
      `${svc.name}.${svc.namespace}`,
      ...(svc.namespace === ownNamespace ? [svc.name] : []),
    ];
    lines.push(`${target.addresses[0]} ${k8sHostname(svc.name, svc.namespace)} ${short.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What a name resolves to from a workload's pod, as its /etc/hosts answers (the lab has no DNS
 * server): an IPv4 address as itself, else the first hosts line that lists the name.
 */
export function resolveInLab(s: Scenario, workload: Workload, host: string): string | undefined {
  if (isIPv4(host)) return host;
  for (const line of hostsFile(s, workload.namespace).split('\n')) {
    const [ip, ...names] = line.split(/\s+/);
    if (ip && !ip.startsWith('#') && names.includes(host)) return ip;
  }
  return undefined;
}

function resolvConf(namespace: string): string {
  return (
    `# egress-lab: names resolve through this namespace's /etc/hosts; there is no DNS server in the lab\n` +
    `search ${namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 attempts:1 timeout:1\n`
  );
}

export function planLab(s: Scenario, prefix: string): LabPlan {
  const short = prefix.replace(/-/g, '');
  const podCidr = s.lab.podCIDR;
  const taken = new Set([...s.workloads.map((w) => w.ip), ...s.externalServers.flatMap((e) => e.addresses)]);
  const podBridge: BridgePlan = { name: `${short}-bp`, address: `${gatewayFor(podCidr, taken)}/${parseCidr(podCidr).prefix}` };
  const bridges = [podBridge];
  const extBridge = new Map<string, BridgePlan>();
  const bridgeFor = (ip: string): BridgePlan => {
    const net = subnet24(ip);
    let b = extBridge.get(net);
    if (!b) {
      b = { name: `${short}-b${extBridge.size}`, address: `${gatewayFor(net, taken)}/24` };
      extBridge.set(net, b);
      bridges.push(b);
    }
    return b;
  };
  const controlPlaneAddress = parseCidr(podBridge.address).ip;
  let n = 0;
  const namespaces: NamespacePlan[] = s.workloads.map((w) => ({
    name: nsName(prefix, 'pod', w.name),
    role: 'pod' as const,
    owner: w.name,
    routerIf: `${short}-${n++}`,
    bridge: podBridge.name,
    addresses: [`${w.ip}/${parseCidr(podCidr).prefix}`],
    gateway: parseCidr(podBridge.address).ip,
    hosts: hostsFile(s, w.namespace, controlPlaneAddress),
    resolvConf: resolvConf(w.namespace),
  }));
  for (const srv of s.externalServers) {
    const nets = new Set(srv.addresses.map(subnet24));
    if (nets.size > 1) throw new Error(`external server ${srv.name}: addresses must share one /24 in the lab, got ${[...nets].join(', ')}`);
    const bridge = bridgeFor(srv.addresses[0]!);
    namespaces.push({
      name: nsName(prefix, 'ext', srv.name),
      role: 'external',
      owner: srv.name,
      routerIf: `${short}-${n++}`,
      bridge: bridge.name,
      addresses: srv.addresses.map((a) => `${a}/24`),
      gateway: parseCidr(bridge.address).ip,
      hosts: hostsFile(s),
      resolvConf: resolvConf('default'),
    });
  }
  return { prefix, router: nsName(prefix, 'node', 'router'), controlPlaneAddress, bridges, namespaces, dnat: planDnat(s) };
}

/** kube-proxy's job for clients without a sidecar: ClusterIP:port to the first endpoint (manual Endpoints, else selected pods). */
function planDnat(s: Scenario): DnatRule[] {
  const endpoints = labEndpoints(s);
  return labServices(s).flatMap((svc) => {
    if (svc.clusterIP === 'None') return [];
    // An Endpoints' subsets each have their own ports: a Service port goes to the first subset that has it.
    const subsets = endpoints.filter((e) => e.name === svc.name && e.namespace === svc.namespace);
    const pod = selectedWorkloads(svc.selector, svc.namespace, s.workloads)[0];
    return svc.ports.flatMap((p) => {
      if (subsets.length > 0) {
        const portOf = (eps: (typeof subsets)[number]) =>
          eps.ports.find((q) => q.name === p.name) ?? (eps.ports.length === 1 ? eps.ports[0] : undefined);
        const eps = subsets.find((e) => portOf(e) !== undefined);
        const epPort = eps ? portOf(eps) : undefined;
        return eps && epPort ? [{ clusterIP: svc.clusterIP, port: p.port, to: `${eps.addresses[0]}:${epPort.port}` }] : [];
      }
      return pod ? [{ clusterIP: svc.clusterIP, port: p.port, to: `${pod.ip}:${p.targetPort ?? p.port}` }] : [];
    });
  });
}

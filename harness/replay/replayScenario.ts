/**
 * The lab scenario a replay runs: the dump's pod (its address and name from the sidecar's node id)
 * with a sidecar, one external server per mapped address, and one probe per destination, with no
 * mesh objects: the replayed dump, not istiod, decides what the sidecar does. A destination no
 * mapped server answers is probed with a raw TCP connection. Pure.
 */
import { stringify } from 'yaml';
import type { ReplayConfig } from './bootstrapFromDump.ts';
import type { ReplayMapping } from './mapping.ts';
import { dnsLabel } from '../import/toScenario.ts';
import { serverType } from '../servers/registry.ts';

export interface ReplayDestination {
  host: string;
  port: number;
  text: string;
}

export function replayScenarioName(config: ReplayConfig): string {
  return dnsLabel(`replay-${config.node.name}`);
}

function probe(d: ReplayDestination, mapping: ReplayMapping, from: string) {
  const server = mapping.servers.find((s) => s.address === d.host && s.ports.includes(d.port));
  const kind = server?.kind ?? 'tcp';
  const block = server ? serverType(server.kind).defaultProbe(d.host, d.port) : { tcp: { host: d.host, port: d.port } };
  return {
    name: dnsLabel(`${kind}-${d.host}-${d.port}`),
    description: `${d.text} through the replayed configuration`,
    from,
    ...block,
    expect: {},
  };
}

/** Endpoints the config names that no lab server answers at (connections to them go nowhere). */
export function unmappedEndpoints(config: ReplayConfig, mapping: ReplayMapping): string[] {
  const served = (a: string, p: number) => mapping.servers.some((s) => (s.lab ?? s.address) === a && s.ports.includes(p));
  return config.endpoints
    .filter((e) => !e.address.startsWith('127.') && !served(e.address, e.port))
    .map((e) => `${e.address}:${e.port} (${e.cluster})`);
}

export function replayScenarioYaml(
  config: ReplayConfig,
  mapping: ReplayMapping,
  destinations: ReplayDestination[],
  istio: string,
  dumpFile: string,
): string {
  const n = config.node;
  const scenario = {
    name: replayScenarioName(config),
    description: `Replay of ${dumpFile} (${n.id}${n.istioVersion ? `, Istio ${n.istioVersion}` : ''}) in the lab's real Envoy.`,
    tags: ['replay'],
    istio,
    lab: { podCIDR: `${n.ip.split('.').slice(0, 3).join('.')}.0/24` },
    workloads: [{ name: dnsLabel(n.name), namespace: dnsLabel(n.namespace), ip: n.ip, sidecar: true }],
    externalServers: mapping.servers.map((s) => ({
      name: dnsLabel(`replay-${s.kind}-${s.lab ?? s.address}`),
      kind: s.kind,
      addresses: [s.lab ?? s.address],
      ports: s.ports,
    })),
    probes: destinations.map((d) => probe(d, mapping, dnsLabel(n.name))),
  };
  return stringify(scenario, { lineWidth: 0 });
}

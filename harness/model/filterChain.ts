/**
 * Where a redirected connection goes inside the sidecar (built by pilot/pkg/networking/core/listener_builder.go; matched the way Envoy does, and pilot/pkg/simulation/traffic.go matchListener and matchFilterChain describe): which listener takes
 * it, and which filter chain of that listener matches, in Envoy's match order.
 */
import { cidrContains, parseCidr } from '../core/net.ts';
import type { FilterChain, Listener } from './types.ts';

/** useOriginalDst hand-off: exact IP:port listener, else 0.0.0.0:port, else stay on virtualOutbound. */
export function selectListener(listeners: Listener[], dstIp: string, dstPort: number): Listener {
  const virtual = listeners.find((l) => l.useOriginalDst);
  if (!virtual) throw new Error('no virtualOutbound listener in the proxy config');
  const exact = listeners.find((l) => !l.bindToPort && l.address === dstIp && l.port === dstPort);
  const wildcard = listeners.find((l) => !l.bindToPort && l.address === '0.0.0.0' && l.port === dstPort);
  return exact ?? wildcard ?? virtual;
}

/** What the listener filters learned about the connection. */
export interface ConnectionFacts {
  dstIp: string;
  dstPort: number;
  transportProtocol: 'raw_buffer' | 'tls';
  serverName?: string;
  applicationProtocols: string[];
}

type Step = (chains: FilterChain[], f: ConnectionFacts) => FilterChain[];

/** Keeps chains that state the criterion and satisfy it; if none state it, keeps those that don't. */
function narrow(states: (c: FilterChain) => boolean, satisfies: (c: FilterChain) => boolean): (chains: FilterChain[]) => FilterChain[] {
  return (chains) => {
    const specific = chains.filter((c) => states(c) && satisfies(c));
    return specific.length > 0 ? specific : chains.filter((c) => !states(c));
  };
}

function longestPrefix(c: FilterChain, ip: string): number {
  return Math.max(-1, ...(c.match.prefixRanges ?? []).filter((r) => cidrContains(r, ip)).map((r) => parseCidr(r).prefix));
}

/** Envoy server_names: exact, or "*.example.com" for any subdomain. */
export function serverNameMatches(pattern: string, sni: string | undefined): boolean {
  if (!sni) return false;
  return pattern.startsWith('*.') ? sni.endsWith(pattern.slice(1)) && sni.length > pattern.length - 1 : pattern === sni;
}

const STEPS: Step[] = [
  (chains, f) =>
    narrow(
      (c) => c.match.destinationPort !== undefined,
      (c) => c.match.destinationPort === f.dstPort,
    )(chains),
  (chains, f) => {
    const best = Math.max(-1, ...chains.map((c) => longestPrefix(c, f.dstIp)));
    return best >= 0 ? chains.filter((c) => longestPrefix(c, f.dstIp) === best) : chains.filter((c) => !c.match.prefixRanges?.length);
  },
  (chains, f) =>
    narrow(
      (c) => !!c.match.serverNames?.length,
      (c) => c.match.serverNames!.some((n) => serverNameMatches(n, f.serverName)),
    )(chains),
  (chains, f) =>
    narrow(
      (c) => !!c.match.transportProtocol,
      (c) => c.match.transportProtocol === f.transportProtocol,
    )(chains),
  (chains, f) =>
    narrow(
      (c) => !!c.match.applicationProtocols?.length,
      (c) => c.match.applicationProtocols!.some((p) => f.applicationProtocols.includes(p)),
    )(chains),
];

/** Envoy's order: destination port, destination IP, server name, transport, ALPN; else the default chain. */
export function matchFilterChain(listener: Listener, facts: ConnectionFacts): FilterChain | undefined {
  let chains = listener.filterChains;
  for (const step of STEPS) {
    chains = step(chains, facts);
    if (chains.length === 0) break;
  }
  return chains[0] ?? listener.defaultFilterChain;
}

/** Whether the listener needs the client's first bytes before it can pick a chain (http_inspector). */
export function needsHttpInspection(listener: Listener): boolean {
  return listener.listenerFilters.includes('http_inspector');
}

/**
 * A path trace as the report draws it (one box per hop, left to right) and as the console says it
 * (one line of named matches). Both are built from the trace's data (pathTrace.ts), nothing else.
 */
import { MATCH_FIELDS, type PathMatch, type PathTrace } from './pathTrace.ts';

export type HopKind = 'client' | 'iptables' | 'sidecar' | 'listener' | 'filter-chain' | 'route' | 'cluster' | 'destination';

export interface PathHop {
  kind: HopKind;
  /** Short text for the drawing, e.g. "ISTIO_OUTPUT: -j ISTIO_REDIRECT", "0.0.0.0_7000". */
  label: string;
  /** Longer explanation for a tooltip or the table under the drawing. */
  detail?: string;
}

const hop = (kind: HopKind, label: string, detail?: string): PathHop => (detail === undefined ? { kind, label } : { kind, label, detail });

/** The hops from the client to where the connection ends. */
export function pathHops(t: PathTrace): PathHop[] {
  const { match: m, why } = t;
  const hops = [hop('client', `${t.client.podIp} → ${t.client.dialled}`, t.client.resolved)];
  if (t.iptables) hops.push(hop('iptables', t.iptables.rule, t.iptables.detail));
  if (t.sidecar)
    hops.push(hop('sidecar', `${t.sidecar.port} ${t.sidecar.port === 15006 ? 'virtualInbound' : 'virtualOutbound'}`, t.sidecar.detail));
  if (m.listener && m.listener !== 'virtualInbound') hops.push(hop('listener', m.listener, why.listener));
  if (m.error === 'no filter chains matched') hops.push(hop('filter-chain', 'no filter chain', why.filterChain));
  else if (m.filterChain !== undefined || t.filterChainMatch !== undefined)
    hops.push(hop('filter-chain', m.filterChain ?? t.filterChainMatch!, why.filterChain));
  if (m.routeConfig !== undefined) {
    const vh = m.virtualHost ?? 'no virtual host';
    hops.push(hop('route', `${m.routeConfig}: ${vh}${t.directResponse !== undefined ? ` → ${t.directResponse}` : ''}`, why.route));
  }
  if (m.cluster !== undefined) hops.push(hop('cluster', m.cluster, why.cluster));
  if (t.destination) hops.push(hop('destination', t.destination.address, t.destination.detail));
  return hops;
}

/** One line: "listener 0.0.0.0_7000 › filterChain PassthroughFilterChain › cluster PassthroughCluster". */
export function describeMatch(m: PathMatch): string {
  const parts = MATCH_FIELDS.filter((f) => m[f] !== undefined).map((f) => `${f} ${m[f]}`);
  return parts.length > 0 ? parts.join(' › ') : 'no listener (not captured)';
}

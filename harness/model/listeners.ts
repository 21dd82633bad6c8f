/**
 * Outbound listeners as istiod builds them for one sidecar (pilot/pkg/networking/core/listener.go and
 * listener_builder.go; Istio 1.4-1.6 as seed 000's config dump shows it): virtualOutbound on 15001, then one listener per (bind, port) key built from the
 * services it can see, oldest first, with Istio's conflict merging.
 */
import { BLACKHOLE, PASSTHROUGH, serviceClusterName } from './clusters.ts';
import type { IstioEra } from '../scenario/istioVersion.ts';
import type { VirtualService } from '../scenario/schema.ts';
import type { MeshService, MeshServicePort } from './meshServices.ts';
import { listenerClass } from './protocol.ts';
import { portRoute, sniffedServiceRoute } from './routes.ts';
import type { FilterChain, FilterChainMatch, Listener, OutboundTrafficPolicy, RouteConfig } from './types.ts';

export interface ListenerContext {
  era: IstioEra;
  policy: OutboundTrafficPolicy;
  podIp: string;
  namespace: string;
  /** VirtualServices this proxy can see (timeouts, destinations). */
  virtualServices?: VirtualService[];
}

export interface BuiltListeners {
  listeners: Listener[];
  routes: RouteConfig[];
  notes: string[];
}

const WILDCARD = '0.0.0.0';
const HTTP_MATCH: FilterChainMatch = { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] };

export function fallthroughCluster(policy: OutboundTrafficPolicy): string {
  return policy === 'ALLOW_ANY' ? PASSTHROUGH : BLACKHOLE;
}

export function isMatchAll(m: FilterChainMatch): boolean {
  return !m.destinationPort && !m.prefixRanges?.length && !m.serverNames?.length && !m.transportProtocol && !m.applicationProtocols?.length;
}

function sameMatch(a: FilterChainMatch, b: FilterChainMatch): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function tcpChain(match: FilterChainMatch, cluster: string): FilterChain {
  return { match, filter: { kind: 'tcp_proxy', cluster, statPrefix: cluster } };
}

function hcmChain(match: FilterChainMatch, listenerName: string, routeConfigName: string): FilterChain {
  return { match, filter: { kind: 'http_connection_manager', statPrefix: `outbound_${listenerName}`, routeConfigName } };
}

export function virtualOutbound(ctx: ListenerContext): Listener {
  const catchAll: FilterChain = { ...tcpChain({}, fallthroughCluster(ctx.policy)), name: 'virtualOutbound-catchall-tcp' };
  const loopGuard: FilterChain = { ...tcpChain({ destinationPort: 15001 }, BLACKHOLE), name: 'virtualOutbound-blackhole' };
  return {
    name: 'virtualOutbound',
    address: WILDCARD,
    port: 15001,
    bindToPort: true,
    useOriginalDst: true,
    listenerFilters: [],
    filterChains: ctx.era === 'modern' ? [loopGuard, catchAll] : [catchAll],
  };
}

/** Mutable listener under construction, keyed by "<bind>_<port>". */
interface Draft {
  listener: Listener;
  httpServices: MeshService[];
  /** Protocols already on this listener, for the well-known-port conflict rule. */
  protocols: Set<string>;
}

/** isConflictWithWellKnownPort: MySQL and Mongo never share a listener with another protocol. */
const WELL_KNOWN = new Set(['MYSQL', 'MONGO']);

class ListenerSet {
  readonly drafts = new Map<string, Draft>();
  readonly routes: RouteConfig[] = [];
  readonly notes: string[] = [];

  constructor(private readonly ctx: ListenerContext) {}

  draft(address: string, port: number): Draft {
    const name = `${address}_${port}`;
    let d = this.drafts.get(name);
    if (!d) {
      d = {
        listener: { name, address, port, bindToPort: false, listenerFilters: [], filterChains: [] },
        httpServices: [],
        protocols: new Set(),
      };
      this.drafts.set(name, d);
    }
    return d;
  }

  /** Adds a chain, applying Istio's rule for identical matches: TCP over TCP drops the newcomer. */
  addChain(d: Draft, chain: FilterChain, svc: MeshService): void {
    const clash = d.listener.filterChains.find((c) => sameMatch(c.match, chain.match));
    if (!clash) {
      d.listener.filterChains.push(chain);
      return;
    }
    if (JSON.stringify(clash.filter) === JSON.stringify(chain.filter)) return; // e.g. two HTTP services sharing one HCM
    if (clash.filter.kind === 'tcp_proxy' && chain.filter.kind === 'tcp_proxy') {
      this.notes.push(
        `listener ${d.listener.name}: ${svc.kind} ${svc.hostname} dropped, ${clash.filter.cluster} already owns the match (pilot_conflict_outbound_listener_tcp_over_current_tcp)`,
      );
    } else {
      // Only reachable in the 1.4-1.6 model, where the HTTP chain matches everything too.
      this.notes.push(
        `listener ${d.listener.name}: the ${chain.filter.kind} chain of ${svc.kind} ${svc.hostname} was dropped because an older ${clash.filter.kind} chain has the same match; how Istio ${this.ctx.era === 'legacy' ? '1.4-1.6' : ''} merged such a conflict is inferred, not observed`,
      );
    }
  }

  /** Claims the listener for this port's protocol; false (with a note) when the well-known-port rule drops it. */
  private claim(d: Draft, svc: MeshService, p: MeshServicePort): boolean {
    const others = [...d.protocols].filter((x) => x !== p.protocol);
    if (others.length > 0 && (WELL_KNOWN.has(p.protocol) || others.some((x) => WELL_KNOWN.has(x)))) {
      this.notes.push(
        `listener ${d.listener.name}: ${p.protocol} port of ${svc.kind} ${svc.hostname} dropped, it conflicts with ${others.join(', ')} on a well-known port`,
      );
      return false;
    }
    d.protocols.add(p.protocol);
    return true;
  }

  addHttp(svc: MeshService, p: MeshServicePort): void {
    const d = this.draft(WILDCARD, p.port);
    if (!this.claim(d, svc, p)) return;
    d.httpServices.push(svc);
    if (this.ctx.era === 'legacy') {
      // Seed 000: the 1.4 listener guarded the pod's own IP with a BlackHole chain and let the HCM take everything else.
      this.addChain(d, tcpChain({ prefixRanges: [`${this.ctx.podIp}/32`] }, BLACKHOLE), svc);
      this.addChain(d, hcmChain({}, d.listener.name, String(p.port)), svc);
    } else {
      this.addChain(d, hcmChain(HTTP_MATCH, d.listener.name, String(p.port)), svc);
    }
  }

  /** Where a TCP or sniffed port is bound: each endpoint (headless), each VIP, 0.0.0.0 for CIDRs or no VIP. */
  private binds(svc: MeshService, p: MeshServicePort): Array<{ address: string; match: FilterChainMatch }> {
    if (svc.headless) return (svc.endpoints.get(p.port) ?? []).map((ep) => ({ address: ep.address, match: {} }));
    const out: Array<{ address: string; match: FilterChainMatch }> = svc.vips.map((address) => ({ address, match: {} }));
    if (svc.cidrs.length > 0) out.push({ address: WILDCARD, match: { prefixRanges: svc.cidrs } });
    return out;
  }

  addTcp(svc: MeshService, p: MeshServicePort): void {
    const cluster = serviceClusterName(p.port, svc.hostname);
    const tls = p.protocol === 'TLS' || p.protocol === 'HTTPS';
    const binds = this.binds(svc, p);
    for (const b of binds) {
      const d = this.draft(b.address, p.port);
      if (this.claim(d, svc, p)) this.addChain(d, tcpChain(b.match, cluster), svc);
    }
    if (binds.length > 0 || svc.headless) return;
    const d = this.draft(WILDCARD, p.port);
    if (!this.claim(d, svc, p)) return;
    if (tls) {
      this.addChain(d, tcpChain({ serverNames: [svc.hostname] }, cluster), svc);
      if (!d.listener.listenerFilters.includes('tls_inspector')) d.listener.listenerFilters.push('tls_inspector');
    } else {
      // "TCP without a VIP will capture everything" on this port.
      this.addChain(d, tcpChain({}, cluster), svc);
    }
  }

  addAuto(svc: MeshService, p: MeshServicePort): void {
    const cluster = serviceClusterName(p.port, svc.hostname);
    const binds = this.binds(svc, p);
    if (binds.length === 0 && !svc.headless) binds.push({ address: WILDCARD, match: {} });
    const route = sniffedServiceRoute(svc, p.port, this.ctx.namespace, this.ctx.virtualServices ?? []);
    if (binds.length > 0) this.routes.push(route);
    for (const b of binds) {
      const d = this.draft(b.address, p.port);
      if (!this.claim(d, svc, p)) continue;
      this.addChain(d, tcpChain(b.match, cluster), svc);
      this.addChain(d, hcmChain({ ...b.match, ...HTTP_MATCH }, d.listener.name, route.name), svc);
    }
    if (this.ctx.era === 'legacy') {
      this.notes.push(`port ${p.port} of ${svc.hostname} is sniffed (auto); the 1.4-1.6 sniffing listener is modelled on the modern one`);
    }
  }

  finish(): Listener[] {
    const out: Listener[] = [];
    for (const d of this.drafts.values()) {
      if (d.httpServices.length > 0) {
        this.routes.push(portRoute(d.listener.port, d.httpServices, this.ctx.policy, this.ctx.namespace, this.ctx.virtualServices ?? []));
      }
      out.push(this.finishListener(d.listener));
    }
    return out;
  }

  /** buildListenerFromEntry: match-all becomes the default chain, else PassthroughFilterChain is added (1.25+). */
  private finishListener(l: Listener): Listener {
    const sniffed = l.filterChains.some((c) => c.filter.kind === 'http_connection_manager' && !isMatchAll(c.match));
    if (sniffed && !l.listenerFilters.includes('http_inspector')) l.listenerFilters.unshift('http_inspector');
    if (this.ctx.era === 'legacy' || (l.filterChains.length === 1 && isMatchAll(l.filterChains[0]!.match))) return l;
    const matchAll = l.filterChains.find((c) => isMatchAll(c.match));
    if (matchAll) {
      return { ...l, filterChains: l.filterChains.filter((c) => c !== matchAll), defaultFilterChain: matchAll };
    }
    const passthrough = { ...tcpChain({}, fallthroughCluster(this.ctx.policy)), name: 'PassthroughFilterChain' };
    return { ...l, defaultFilterChain: passthrough };
  }
}

export function buildListeners(services: MeshService[], ctx: ListenerContext): BuiltListeners {
  const set = new ListenerSet(ctx);
  for (const svc of services) {
    for (const p of svc.ports) {
      const cls = listenerClass(p.protocol);
      if (cls === 'http') set.addHttp(svc, p);
      else if (cls === 'tcp') set.addTcp(svc, p);
      else if (cls === 'auto') set.addAuto(svc, p);
    }
  }
  const listeners = [virtualOutbound(ctx), ...set.finish()];
  return { listeners, routes: set.routes, notes: set.notes };
}

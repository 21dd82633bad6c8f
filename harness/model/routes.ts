/**
 * HTTP route configurations for the HTTP listeners (pilot/pkg/networking/core/httproute.go): one virtual host per HTTP service
 * on the port, with Istio's domain list, plus the catch-all `allow_any` or `block_all`.
 */
import type { VirtualService } from '../scenario/schema.ts';
import { serviceClusterName } from './clusters.ts';
import type { MeshService } from './meshServices.ts';
import type { OutboundTrafficPolicy, RouteConfig, VirtualHost } from './types.ts';

/** A VirtualService host names a service by its full name, or by a short name in the VS's namespace. */
export function vsHostMatches(vsHost: string, vsNamespace: string, hostname: string): boolean {
  return vsHost === hostname || `${vsHost}.${vsNamespace}.svc.cluster.local` === hostname || `${vsHost}.svc.cluster.local` === hostname;
}

/** "3s", "500ms", "1.5s", "1m" in milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

/** The first HTTP route of the first VirtualService for this host: its destination and timeout. */
function vsRoute(svc: MeshService, port: number, vss: VirtualService[]): { cluster: string; timeoutMs: number; vs: string } | undefined {
  const vs = vss.find((v) => v.http.length > 0 && v.hosts.some((h) => vsHostMatches(h, v.namespace, svc.hostname)));
  const http = vs?.http[0];
  const dest = http?.route[0]?.destination;
  if (!vs || !http || !dest) return undefined;
  const destHost = dest.host.includes('.') || svc.kind === 'ServiceEntry' ? dest.host : `${dest.host}.${vs.namespace}.svc.cluster.local`;
  return {
    cluster: serviceClusterName(dest.port?.number ?? port, destHost),
    timeoutMs: http.timeout ? durationMs(http.timeout) : 0,
    vs: `${vs.name}.${vs.namespace}`,
  };
}

/** Host, the short forms of a cluster-local name, and the VIPs, each bare and with :port (seed 000 shows this list). */
export function virtualHostDomains(svc: MeshService, port: number, proxyNamespace: string): string[] {
  const names = [svc.hostname];
  const suffix = '.svc.cluster.local';
  if (svc.hostname.endsWith(suffix)) {
    const [name, ns] = svc.hostname.slice(0, -suffix.length).split('.');
    names.push(`${name}.${ns}`, `${name}.${ns}.svc.cluster`, `${name}.${ns}.svc`);
    if (ns === proxyNamespace) names.push(name ?? '');
  }
  return [...names, ...svc.vips].flatMap((n) => [n, `${n}:${port}`]);
}

export function catchAllVirtualHost(policy: OutboundTrafficPolicy): VirtualHost {
  return policy === 'ALLOW_ANY'
    ? { name: 'allow_any', domains: ['*'], routeName: 'allow_any', action: { kind: 'passthrough' } }
    : { name: 'block_all', domains: ['*'], routeName: 'block_all', action: { kind: 'direct_response', status: 502 } };
}

export function serviceVirtualHost(
  svc: MeshService,
  port: number,
  proxyNamespace: string,
  vss: VirtualService[],
  domains?: string[],
): VirtualHost {
  const vs = vsRoute(svc, port, vss);
  return {
    name: `${svc.hostname}:${port}`,
    domains: domains ?? virtualHostDomains(svc, port, proxyNamespace),
    // Istio names a Service's own route "default"; a VirtualService's http route carries its own
    // `name`, which the scenario schema does not take, so it has none
    // (pilot/pkg/networking/core/route/route.go: DefaultRouteName is only for routes without a VirtualService).
    ...(vs ? {} : { routeName: 'default' }),
    // Sidecar routes have no timeout unless a VirtualService sets one (route.go setTimeout).
    action: { kind: 'cluster', cluster: vs?.cluster ?? serviceClusterName(port, svc.hostname), timeoutMs: vs?.timeoutMs ?? 0 },
    decorator: `${svc.hostname}:${port}/*`,
    ...(vs ? { virtualService: vs.vs } : {}),
  };
}

/** Route "PORT" shared by every HTTP service on that port, ending with the catch-all. */
export function portRoute(
  port: number,
  services: MeshService[],
  policy: OutboundTrafficPolicy,
  proxyNamespace: string,
  vss: VirtualService[],
): RouteConfig {
  return {
    name: String(port),
    virtualHosts: [...services.map((s) => serviceVirtualHost(s, port, proxyNamespace, vss)), catchAllVirtualHost(policy)],
  };
}

/** Route "host:PORT" of a sniffed (auto) port with a VIP: only this service, domains ["*"]. */
export function sniffedServiceRoute(svc: MeshService, port: number, proxyNamespace: string, vss: VirtualService[]): RouteConfig {
  return { name: `${svc.hostname}:${port}`, virtualHosts: [serviceVirtualHost(svc, port, proxyNamespace, vss, ['*'])] };
}

/** Host header to virtual host: exact domain, or the domain without the port (IgnorePortInHostMatching); else the catch-all. */
export function selectVirtualHost(config: RouteConfig | undefined, host: string): VirtualHost | undefined {
  const wanted = host.toLowerCase();
  const bare = wanted.replace(/:\d+$/, '');
  const vhosts = config?.virtualHosts ?? [];
  return (
    vhosts.find((v) => v.domains.some((d) => d !== '*' && (d === wanted || d === bare))) ?? vhosts.find((v) => v.domains.includes('*'))
  );
}

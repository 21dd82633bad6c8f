/**
 * HTTP route configurations for the HTTP listeners (reference §1.4): one virtual host per HTTP service
 * on the port, with Istio's domain list, plus the catch-all `allow_any` or `block_all`.
 */
import { serviceClusterName } from './clusters.ts';
import type { MeshService } from './meshServices.ts';
import type { OutboundTrafficPolicy, RouteConfig, VirtualHost } from './types.ts';

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

export function serviceVirtualHost(svc: MeshService, port: number, proxyNamespace: string, domains?: string[]): VirtualHost {
  return {
    name: `${svc.hostname}:${port}`,
    domains: domains ?? virtualHostDomains(svc, port, proxyNamespace),
    routeName: 'default',
    action: { kind: 'cluster', cluster: serviceClusterName(port, svc.hostname), timeoutMs: 0 },
  };
}

/** Route "PORT" shared by every HTTP service on that port, ending with the catch-all. */
export function portRoute(port: number, services: MeshService[], policy: OutboundTrafficPolicy, proxyNamespace: string): RouteConfig {
  return {
    name: String(port),
    virtualHosts: [...services.map((s) => serviceVirtualHost(s, port, proxyNamespace)), catchAllVirtualHost(policy)],
  };
}

/** Route "host:PORT" of a sniffed (auto) port with a VIP: only this service, domains ["*"]. */
export function sniffedServiceRoute(svc: MeshService, port: number, proxyNamespace: string): RouteConfig {
  return { name: `${svc.hostname}:${port}`, virtualHosts: [serviceVirtualHost(svc, port, proxyNamespace, ['*'])] };
}

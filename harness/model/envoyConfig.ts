/**
 * Renders the model's ProxyConfig as Envoy's admin /config_dump (v3 JSON, snake_case as Envoy prints
 * it). Legacy-era filter names (`envoy.tcp_proxy`) follow the seed's dumps.
 */
import type { Cluster, FilterChain, FilterChainMatch, Listener, ProxyConfig, RouteConfig } from './types.ts';
import { parseCidr } from '../core/net.ts';

const T = 'type.googleapis.com/';

function filterName(kind: 'tcp_proxy' | 'http_connection_manager' | 'http_inspector' | 'tls_inspector', legacy: boolean): string {
  if (kind === 'tcp_proxy') return legacy ? 'envoy.tcp_proxy' : 'envoy.filters.network.tcp_proxy';
  if (kind === 'http_connection_manager') return legacy ? 'envoy.http_connection_manager' : 'envoy.filters.network.http_connection_manager';
  return legacy ? `envoy.listener.${kind}` : `envoy.filters.listener.${kind}`;
}

function renderMatch(m: FilterChainMatch): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (m.destinationPort !== undefined) out.destination_port = m.destinationPort;
  if (m.prefixRanges?.length) {
    out.prefix_ranges = m.prefixRanges.map((r) => ({ address_prefix: parseCidr(r).ip, prefix_len: parseCidr(r).prefix }));
  }
  if (m.serverNames?.length) out.server_names = m.serverNames;
  if (m.transportProtocol) out.transport_protocol = m.transportProtocol;
  if (m.applicationProtocols?.length) out.application_protocols = m.applicationProtocols;
  return Object.keys(out).length > 0 ? out : undefined;
}

function renderChain(c: FilterChain, legacy: boolean): Record<string, unknown> {
  const f = c.filter;
  const filter =
    f.kind === 'tcp_proxy'
      ? {
          name: filterName('tcp_proxy', legacy),
          typed_config: {
            '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
            stat_prefix: f.statPrefix,
            cluster: f.cluster,
          },
        }
      : {
          name: filterName('http_connection_manager', legacy),
          typed_config: {
            '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
            stat_prefix: f.statPrefix,
            rds: { route_config_name: f.routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
          },
        };
  return {
    ...(c.name ? { name: c.name } : {}),
    ...(renderMatch(c.match) ? { filter_chain_match: renderMatch(c.match) } : {}),
    filters: [filter],
  };
}

export function renderListener(l: Listener, legacy: boolean): Record<string, unknown> {
  return {
    '@type': `${T}envoy.config.listener.v3.Listener`,
    name: l.name,
    address: { socket_address: { address: l.address, port_value: l.port } },
    filter_chains: l.filterChains.map((c) => renderChain(c, legacy)),
    ...(l.defaultFilterChain ? { default_filter_chain: renderChain(l.defaultFilterChain, legacy) } : {}),
    ...(l.listenerFilters.length
      ? {
          listener_filters: l.listenerFilters.map((k) => ({ name: filterName(k, legacy) })),
          listener_filters_timeout: '0s',
          continue_on_listener_filters_timeout: true,
        }
      : {}),
    ...(l.useOriginalDst ? { use_original_dst: true } : {}),
    ...(l.bindToPort ? {} : { bind_to_port: false }),
    traffic_direction: 'OUTBOUND',
  };
}

export function renderCluster(c: Cluster): Record<string, unknown> {
  const base: Record<string, unknown> = {
    '@type': `${T}envoy.config.cluster.v3.Cluster`,
    name: c.name,
    type: c.type,
    connect_timeout: `${c.connectTimeoutMs / 1000}s`,
    alt_stat_name: c.altStatName,
  };
  if (c.type === 'ORIGINAL_DST') base.lb_policy = 'CLUSTER_PROVIDED';
  if (c.type === 'EDS') base.eds_cluster_config = { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: c.name };
  if (c.type === 'STATIC' || c.type === 'STRICT_DNS') base.load_assignment = renderEndpoints(c);
  return base;
}

function renderEndpoints(c: Cluster): Record<string, unknown> {
  return {
    cluster_name: c.name,
    endpoints: c.endpoints.length
      ? [
          {
            lb_endpoints: c.endpoints.map((e) => ({
              endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
            })),
          },
        ]
      : [],
  };
}

function renderRoute(r: RouteConfig): Record<string, unknown> {
  return {
    '@type': `${T}envoy.config.route.v3.RouteConfiguration`,
    name: r.name,
    virtual_hosts: r.virtualHosts.map((v) => ({
      name: v.name,
      domains: v.domains,
      routes: [
        {
          name: v.routeName,
          match: { prefix: '/' },
          ...(v.action.kind === 'direct_response'
            ? { direct_response: { status: v.action.status } }
            : {
                route: {
                  cluster: v.action.kind === 'cluster' ? v.action.cluster : 'PassthroughCluster',
                  timeout: `${v.action.kind === 'cluster' ? v.action.timeoutMs / 1000 : 0}s`,
                },
              }),
        },
      ],
    })),
  };
}

export function renderConfigDump(config: ProxyConfig): Record<string, unknown> {
  const legacy = config.era === 'legacy';
  return {
    configs: [
      {
        '@type': `${T}envoy.admin.v3.BootstrapConfigDump`,
        bootstrap: {
          node: {
            id: `sidecar~${config.podIp}~${config.workload}.${config.namespace}~${config.namespace}.svc.cluster.local`,
            metadata: { ISTIO_VERSION: config.istioVersion },
          },
        },
      },
      {
        '@type': `${T}envoy.admin.v3.ListenersConfigDump`,
        dynamic_listeners: config.listeners.map((l) => ({ name: l.name, active_state: { listener: renderListener(l, legacy) } })),
      },
      {
        '@type': `${T}envoy.admin.v3.ClustersConfigDump`,
        dynamic_active_clusters: config.clusters.map((c) => ({ cluster: renderCluster(c) })),
      },
      {
        '@type': `${T}envoy.admin.v3.RoutesConfigDump`,
        dynamic_route_configs: config.routes.map((r) => ({ route_config: renderRoute(r) })),
      },
      {
        '@type': `${T}envoy.admin.v3.EndpointsConfigDump`,
        dynamic_endpoint_configs: config.clusters
          .filter((c) => c.type === 'EDS')
          .map((c) => ({ endpoint_config: { '@type': `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`, ...renderEndpoints(c) } })),
      },
    ],
  };
}

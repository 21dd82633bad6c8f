/**
 * The sidecar's configuration as the model computes it: a small subset of Envoy's listener, cluster
 * and route objects, with the fields that decide where an outbound connection goes. The harness
 * computes it (pure code), the sidecar process executes it, and envoyConfig.ts renders it as an
 * Envoy v3 config_dump.
 */
import type { IstioEra } from '../scenario/istioVersion.ts';

export type Protocol =
  'HTTP' | 'HTTP2' | 'GRPC' | 'GRPC-Web' | 'HTTP_PROXY' | 'TCP' | 'TLS' | 'HTTPS' | 'MONGO' | 'REDIS' | 'MYSQL' | 'UDP' | 'AUTO';

/** How Istio treats a port when building listeners (pkg/config/protocol/instance.go). */
export type ListenerClass = 'http' | 'tcp' | 'auto' | 'none';

export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface Endpoint {
  address: string;
  port: number;
}

export type ClusterType = 'ORIGINAL_DST' | 'STATIC' | 'EDS' | 'STRICT_DNS';

export interface Cluster {
  name: string;
  type: ClusterType;
  /** Stats are emitted under this name (Istio sets "<name>;" on 1.25+). */
  altStatName: string;
  endpoints: Endpoint[];
  connectTimeoutMs: number;
  /** The service this cluster belongs to, for humans. */
  service?: string;
}

export interface FilterChainMatch {
  destinationPort?: number;
  prefixRanges?: string[];
  serverNames?: string[];
  transportProtocol?: string;
  applicationProtocols?: string[];
}

export type NetworkFilter =
  | { kind: 'tcp_proxy'; cluster: string; statPrefix: string }
  | { kind: 'http_connection_manager'; statPrefix: string; routeConfigName: string };

export interface FilterChain {
  name?: string;
  match: FilterChainMatch;
  filter: NetworkFilter;
}

export interface Listener {
  /** "<bind>_<port>" or "virtualOutbound". */
  name: string;
  address: string;
  port: number;
  bindToPort: boolean;
  useOriginalDst?: boolean;
  listenerFilters: Array<'http_inspector' | 'tls_inspector'>;
  filterChains: FilterChain[];
  defaultFilterChain?: FilterChain;
}

export type RouteAction =
  { kind: 'cluster'; cluster: string; timeoutMs: number } | { kind: 'passthrough' } | { kind: 'direct_response'; status: number };

export interface VirtualHost {
  name: string;
  domains: string[];
  /** The route's name, when Istio gives it one ("default", "allow_any", "block_all"). */
  routeName?: string;
  action: RouteAction;
  /** The route decorator Envoy sends upstream as x-envoy-decorator-operation (e.g. "httpbin.org:80/*"). */
  decorator?: string;
  /** The VirtualService that shaped this route ("name.namespace"), for proxy-config views. */
  virtualService?: string;
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

/** Everything one sidecar needs: computed by buildProxyConfig, executed by harness/sidecar. */
export interface ProxyConfig {
  era: IstioEra;
  istioVersion: string;
  podIp: string;
  namespace: string;
  workload: string;
  policy: OutboundTrafficPolicy;
  listeners: Listener[];
  clusters: Cluster[];
  routes: RouteConfig[];
  /** Inbound capture (15006): the ports Services declare for this pod, and where they go. */
  inbound: InboundPort[];
  /** Places where the model cannot know what real Istio does; printed with the scenario output. */
  fidelityNotes: string[];
}

export interface InboundPort {
  port: number;
  /** `inbound|PORT||` (Istio 1.25+ naming) or `inbound|PORT|NAME|HOST` (legacy). */
  cluster: string;
}

/**
 * What matched, by name, as pilot/pkg/simulation's Result has it (ListenerMatched,
 * FilterChainMatched, RouteConfigMatched, VirtualHostMatched, RouteMatched, ClusterMatched,
 * Error). The envoy engine gets the same shape from Istio's simulation of the config istiod
 * generated, so the two can be compared field by field.
 */
export interface PathMatch {
  listener?: string;
  /** The chain's name; unnamed chains (Istio names few) have none, as in the simulation. */
  filterChain?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  cluster?: string;
  /** Why matching stopped, in the simulation's words: "no filter chains matched", "no virtual host matched", "protocol error". */
  error?: string;
  /** Why route and cluster are absent though matching went on: Istio's simulation could not decide them (header matches). */
  undecided?: string;
}

export const MATCH_FIELDS = ['listener', 'filterChain', 'routeConfig', 'virtualHost', 'route', 'cluster', 'error'] as const;

/**
 * A config dump (Envoy's /config_dump, `istioctl proxy-config all -o json`) as a static Envoy
 * bootstrap that runs the same configuration without a control plane: the dump's listeners,
 * clusters and routes become static_resources, each HCM's RDS route is inlined, each EDS cluster
 * gets the endpoints the dump holds. What cannot run outside the customer's pod is taken out and
 * named: the xDS and SDS connections to istiod and pilot-agent, transport sockets that need SDS
 * secrets (the dump has no keys), inbound listeners, and istio-proxy-only extensions upstream Envoy
 * does not have. Pure: plain JSON in, plain JSON out.
 */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A scalar field of the dump as text (a number or boolean as String writes it), or the default when it is absent or not a scalar. */
const text = (v: unknown, absent: string): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : absent;

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

export interface DumpNode {
  id: string;
  /** From the sidecar id sidecar~IP~NAME.NAMESPACE~...: the pod's address, name and namespace. */
  ip: string;
  name: string;
  namespace: string;
  istioVersion?: string;
}

export interface EndpointRef {
  cluster: string;
  address: string;
  port: number;
}

export interface ReplayConfig {
  bootstrap: Json;
  node: DumpNode;
  listeners: string[];
  clusters: string[];
  /** Every IP endpoint of every cluster, after the mapping's rewrites. */
  endpoints: EndpointRef[];
  /** What was changed to make the dump run here, one line each. */
  notes: string[];
}

/** Rewrites an endpoint the customer's network has to where the lab serves it (undefined: keep it). */
export type EndpointRewrite = (address: string, port: number) => { address: string; port: number } | undefined;

/** The config section whose @type ends with this name. */
function section(dump: Json, name: string): Json | undefined {
  return arr(dump.configs)
    .filter(isObj)
    .find((c) => text(c['@type'], '').endsWith(`.${name}`));
}

/** A message out of its Any: static_resources holds the messages themselves. */
function unpack(v: unknown): Json {
  if (!isObj(v)) return {};
  const { '@type': _t, ...rest } = v;
  return rest;
}

export function parseNodeId(id: string): Omit<DumpNode, 'istioVersion'> {
  const m = /^sidecar~(\d{1,3}(?:\.\d{1,3}){3})~([^.~]+)\.([^~]+)~/.exec(id);
  if (!m)
    throw new ReplayError(
      `the dump's node id "${id}" is not a sidecar's (sidecar~IP~NAME.NAMESPACE~...): replay needs the pod's address and name from it`,
    );
  return { id, ip: m[1]!, name: m[2]!, namespace: m[3]! };
}

/** Listener filters the seed era named without a typed_config (current Envoy finds extensions by type only). */
const LISTENER_FILTER_TYPES: Record<string, string> = {
  'envoy.listener.tls_inspector': 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'envoy.filters.listener.tls_inspector': 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'envoy.listener.http_inspector': 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  'envoy.filters.listener.http_inspector': 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  'envoy.listener.original_dst': 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  'envoy.filters.listener.original_dst': 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
};

/** istio-proxy's own extensions (its Envoy build has them, upstream Envoy does not). */
function istioOnly(filter: Json): string | undefined {
  const tc = isObj(filter.typed_config) ? filter.typed_config : undefined;
  const type = text(tc?.['@type'], '');
  const inner = text(tc?.type_url, '');
  // istio-proxy's filters are named istio.* (istio.stats, istio.metadata_exchange, istio.alpn) or typed istio.*.
  if (String(filter.name).startsWith('istio.') || type.includes('/istio.') || inner.includes('/istio.') || inner.includes('istio.io'))
    return `${String(filter.name)} (${inner || type})`;
  if (/\.wasm\.v3\.Wasm$/.test(type) || /\.wasm\.v3\.Wasm$/.test(inner))
    return `${String(filter.name)} (a Wasm plugin: its module is not in the dump)`;
  // Extension config discovery (WasmPlugins, some EnvoyFilters): its config comes over xDS, which a replay has not.
  if (isObj(filter.config_discovery))
    return `${String(filter.name)} (its config is discovered over xDS (ECDS), which the dump does not carry as static config)`;
  return undefined;
}

const FILTER_LISTS = new Set(['filters', 'http_filters', 'listener_filters']);

/** Removes istio-only filters from every filter list, fills the seed era's bare listener filters. */
function cleanFilters(v: unknown, where: string, notes: string[]): void {
  if (Array.isArray(v)) {
    v.forEach((x) => cleanFilters(x, where, notes));
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (FILTER_LISTS.has(k) && Array.isArray(x)) {
      v[k] = x.filter((f) => {
        const why = isObj(f) ? istioOnly(f) : undefined;
        if (why) notes.push(`${where}: removed ${why}, which upstream Envoy does not have`);
        return !why;
      });
      for (const f of v[k] as unknown[]) {
        if (isObj(f) && k === 'listener_filters' && !f.typed_config && LISTENER_FILTER_TYPES[String(f.name)]) {
          f.typed_config = { '@type': `type.googleapis.com/${LISTENER_FILTER_TYPES[String(f.name)]}` };
        }
      }
    }
    cleanFilters(v[k], where, notes);
  }
}

const needsSds = (v: unknown) => JSON.stringify(v ?? null).includes('"sds_config"');

/** Transport sockets that read SDS secrets cannot start here: the cluster speaks plain text instead. */
function dropSdsSockets(cluster: Json, notes: string[]): void {
  const name = String(cluster.name);
  if (needsSds(cluster.transport_socket)) {
    delete cluster.transport_socket;
    notes.push(`cluster ${name}: its TLS needs the pod's SDS secrets (not in a dump), so it connects in plain text`);
  }
  if (Array.isArray(cluster.transport_socket_matches)) {
    const kept = cluster.transport_socket_matches.filter((m) => !needsSds(m));
    if (kept.length < cluster.transport_socket_matches.length)
      notes.push(`cluster ${name}: its istio mTLS match needs the pod's SDS secrets, so it connects in plain text`);
    if (kept.length > 0) cluster.transport_socket_matches = kept;
    else delete cluster.transport_socket_matches;
  }
}

function routesByName(dump: Json): Map<string, Json> {
  const routes = new Map<string, Json>();
  const s = section(dump, 'RoutesConfigDump');
  for (const r of [...arr(s?.static_route_configs), ...arr(s?.dynamic_route_configs)].filter(isObj)) {
    const rc = unpack(r.route_config);
    routes.set(String(rc.name), rc);
  }
  return routes;
}

/** Every HCM that names an RDS route gets that route inline. */
function inlineRoutes(listener: Json, routes: Map<string, Json>): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isObj(v)) return;
    if (text(v['@type'], '').endsWith('HttpConnectionManager') && isObj(v.rds)) {
      const name = String(v.rds.route_config_name);
      const rc = routes.get(name);
      if (!rc) throw new ReplayError(`listener ${String(listener.name)}: its route configuration "${name}" is not in the dump`);
      delete v.rds;
      v.route_config = rc;
      return;
    }
    Object.values(v).forEach(visit);
  };
  visit(listener);
}

function listenersOf(dump: Json, routes: Map<string, Json>, notes: string[]): Json[] {
  const s = section(dump, 'ListenersConfigDump');
  if (!s) throw new ReplayError("the dump has no ListenersConfigDump section: is it a sidecar's /config_dump?");
  const all = [
    ...arr(s.static_listeners)
      .filter(isObj)
      .map((l) => unpack(l.listener)),
    ...arr(s.dynamic_listeners)
      .filter(isObj)
      .map((l) => unpack(isObj(l.active_state) ? l.active_state.listener : undefined)),
  ];
  const out: Json[] = [];
  for (const l of all.filter((x) => x.name)) {
    if (l.name === 'virtualInbound' || l.traffic_direction === 'INBOUND') {
      notes.push(
        `listener ${String(l.name)}: inbound, not replayed (replay is about the pod's egress; its mTLS certificates are not in a dump)`,
      );
      continue;
    }
    if (Array.isArray(l.filter_chains)) {
      const kept = l.filter_chains.filter((c) => !needsSds(isObj(c) ? c.transport_socket : undefined));
      if (kept.length < l.filter_chains.length)
        notes.push(
          `listener ${String(l.name)}: ${l.filter_chains.length - kept.length} TLS-terminating chain(s) need SDS secrets, not replayed`,
        );
      l.filter_chains = kept;
    }
    inlineRoutes(l, routes);
    cleanFilters(l, `listener ${String(l.name)}`, notes);
    out.push(l);
  }
  return out;
}

/** pilot-agent's own connections: xDS to istiod and SDS, which replay replaces by the static config. */
const AGENT_CLUSTERS = new Set(['xds-grpc', 'sds-grpc']);

function clustersOf(dump: Json, rewrite: EndpointRewrite, notes: string[]): { clusters: Json[]; endpoints: EndpointRef[] } {
  const s = section(dump, 'ClustersConfigDump');
  if (!s) throw new ReplayError('the dump has no ClustersConfigDump section');
  const eds = new Map<string, Json>();
  const e = section(dump, 'EndpointsConfigDump');
  for (const c of [...arr(e?.static_endpoint_configs), ...arr(e?.dynamic_endpoint_configs)].filter(isObj)) {
    const cla = unpack(c.endpoint_config);
    eds.set(String(cla.cluster_name), cla);
  }
  const clusters: Json[] = [];
  const endpoints: EndpointRef[] = [];
  const all = [...arr(s.static_clusters), ...arr(s.dynamic_active_clusters)].filter(isObj).map((c) => unpack(c.cluster));
  for (const c of all.filter((x) => {
    const name = text(x.name, '');
    return name !== '' && !AGENT_CLUSTERS.has(name);
  })) {
    if (c.type === 'EDS' || isObj(c.eds_cluster_config)) {
      if (!e)
        throw new ReplayError(
          `cluster ${String(c.name)} takes its endpoints from EDS, and the dump has none: take it with \`istioctl proxy-config all -o json\` or /config_dump?include_eds`,
        );
      delete c.eds_cluster_config;
      c.type = 'STATIC';
      c.load_assignment = eds.get(String(c.name)) ?? { cluster_name: c.name, endpoints: [] };
    }
    dropSdsSockets(c, notes);
    cleanFilters(c, `cluster ${String(c.name)}`, notes);
    for (const loc of arr(isObj(c.load_assignment) ? c.load_assignment.endpoints : undefined).filter(isObj)) {
      for (const lb of arr(loc.lb_endpoints).filter(isObj)) {
        const sa =
          isObj(lb.endpoint) && isObj(lb.endpoint.address) && isObj(lb.endpoint.address.socket_address)
            ? lb.endpoint.address.socket_address
            : undefined;
        if (!sa || !/^\d{1,3}(\.\d{1,3}){3}$/.test(String(sa.address))) continue;
        const to = rewrite(String(sa.address), Number(sa.port_value));
        if (to) {
          notes.push(
            `cluster ${String(c.name)}: endpoint ${String(sa.address)}:${String(sa.port_value)} is served in the lab at ${to.address}:${to.port}`,
          );
          sa.address = to.address;
          sa.port_value = to.port;
        }
        endpoints.push({ cluster: String(c.name), address: String(sa.address), port: Number(sa.port_value) });
      }
    }
    clusters.push(c);
  }
  return { clusters, endpoints };
}

export const REPLAY_ADMIN = { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } };

export function bootstrapFromDump(input: unknown, rewrite: EndpointRewrite = () => undefined): ReplayConfig {
  if (!isObj(input) || !Array.isArray(input.configs)) throw new ReplayError('not an Envoy config dump: no "configs" array');
  // The steps below edit the objects they move; the caller's dump stays as it was.
  const dump = structuredClone(input);
  const notes: string[] = [];
  const boot = unpack(section(dump, 'BootstrapConfigDump')?.bootstrap);
  const nodeJson = isObj(boot.node) ? boot.node : {};
  const meta = isObj(nodeJson.metadata) ? nodeJson.metadata : {};
  const node: DumpNode = {
    ...parseNodeId(text(nodeJson.id, '')),
    ...(typeof meta.ISTIO_VERSION === 'string' ? { istioVersion: meta.ISTIO_VERSION } : {}),
  };
  const listeners = listenersOf(dump, routesByName(dump), notes);
  const { clusters, endpoints } = clustersOf(dump, rewrite, notes);
  const { dynamic_resources: _d, static_resources: _s, admin: _a, stats_sinks: _k, tracing: _t, ...rest } = boot;
  if (boot.dynamic_resources) notes.push("no xDS: the dump's listeners, clusters and routes are static, so nothing changes while it runs");
  const bootstrap: Json = { ...rest, node: nodeJson, admin: REPLAY_ADMIN, static_resources: { listeners, clusters } };
  return {
    bootstrap,
    node,
    listeners: listeners.map((l) => String(l.name)),
    clusters: clusters.map((c) => String(c.name)),
    endpoints,
    notes,
  };
}

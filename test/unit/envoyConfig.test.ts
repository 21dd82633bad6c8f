import test from 'ava';
import { renderCluster, renderConfigDump, renderListener } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import type { Listener, ProxyConfig } from '../../harness/model/types.ts';

// Rendered JSON is walked loosely, typed only as far as the tests read it; the assertions pin the shapes.
type Json = Record<string, unknown>;
interface TypedConfig extends Json {
  stat_prefix?: string;
  cluster?: string;
  rds?: { route_config_name: string };
}
interface NetworkFilter extends Json {
  name: string;
  typed_config: TypedConfig;
}
interface FilterChain extends Json {
  name?: string;
  filter_chain_match?: Json;
  filters: NetworkFilter[];
}
interface EnvoyListener extends Json {
  name: string;
  filter_chains: FilterChain[];
  default_filter_chain?: FilterChain;
}
interface DynamicListener extends Json {
  name: string;
  active_state: { listener: EnvoyListener };
}
interface EnvoyCluster extends Json {
  name: string;
}
interface RouteConfig extends Json {
  name: string;
  virtual_hosts: Array<Json & { routes: Json[] }>;
}

function seed(name: string): ProxyConfig {
  const { scenario, istio } = loadScenarioFile(name);
  return buildProxyConfig(scenario, istio, scenario.workloads[0]!);
}

function section(dump: Json, type: string): Json {
  const s = (dump.configs as Json[]).find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`);
  if (!s) throw new Error(`no ${type}`);
  return s;
}

function listeners(c: ProxyConfig): EnvoyListener[] {
  return (section(renderConfigDump(c), 'ListenersConfigDump').dynamic_listeners as DynamicListener[]).map((l) => l.active_state.listener);
}

const byName = <T extends { name: string }>(ls: T[], name: string): T => {
  const l = ls.find((x) => x.name === name);
  if (!l) throw new Error(`no ${name}`);
  return l;
};

const filterNames = (l: EnvoyListener): string[] =>
  [...l.filter_chains, ...(l.default_filter_chain ? [l.default_filter_chain] : [])].flatMap((c) => c.filters.map((f) => f.name));

test('the dump has the bootstrap, listeners, clusters, routes and endpoints sections in order', (t) => {
  const dump = renderConfigDump(seed('redis-7000'));
  t.deepEqual(
    (dump.configs as Json[]).map((c) => c['@type']),
    ['BootstrapConfigDump', 'ListenersConfigDump', 'ClustersConfigDump', 'RoutesConfigDump', 'EndpointsConfigDump'].map(
      (s) => `type.googleapis.com/envoy.admin.v3.${s}`,
    ),
  );
});

test('bootstrap node carries the sidecar id and the Istio version', (t) => {
  const boot = section(renderConfigDump(seed('redis-7000')), 'BootstrapConfigDump').bootstrap as { node: { id: string; metadata: Json } };
  t.is(boot.node.id, 'sidecar~10.64.192.14~sleep.dev-self~dev-self.svc.cluster.local');
  t.is(boot.node.metadata.ISTIO_VERSION, '1.4');
});

test('listener names and addresses are rendered as Envoy names them', (t) => {
  const dump = renderConfigDump(seed('redis-7000-fix-serviceentry'));
  const dyn = section(dump, 'ListenersConfigDump').dynamic_listeners as DynamicListener[];
  t.deepEqual(
    dyn.map((d) => d.name),
    ['virtualOutbound', '0.0.0.0_7000', '10.0.0.6_7000', '10.0.0.6_7001', '10.0.0.6_7002', '10.0.0.6_7003'],
  );
  for (const d of dyn) t.is(d.active_state.listener.name, d.name);
  const l = byName(listeners(seed('redis-7000-fix-serviceentry')), '10.0.0.6_7003');
  t.deepEqual(l.address, { socket_address: { address: '10.0.0.6', port_value: 7003 } });
  t.is(l['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
  t.is(l.traffic_direction, 'OUTBOUND');
});

test('virtualOutbound has use_original_dst and no bind_to_port false; the others have bind_to_port false and no use_original_dst', (t) => {
  const ls = listeners(seed('redis-7000-fix-serviceentry'));
  const vo = byName(ls, 'virtualOutbound');
  t.is(vo.use_original_dst, true);
  t.false('bind_to_port' in vo);
  for (const l of ls.filter((x) => x.name !== 'virtualOutbound')) {
    t.is(l.bind_to_port, false, l.name);
    t.false('use_original_dst' in l, l.name);
  }
});

test('legacy filter names are the v2 ones: envoy.tcp_proxy and envoy.http_connection_manager', (t) => {
  const l = byName(listeners(seed('redis-7000')), '0.0.0.0_7000');
  t.deepEqual(filterNames(l), ['envoy.tcp_proxy', 'envoy.http_connection_manager']);
});

test('modern filter names are envoy.filters.network.*, and the inspector is envoy.filters.listener.http_inspector', (t) => {
  const l = byName(listeners(seed('redis-7000-modern')), '0.0.0.0_7000');
  t.deepEqual(filterNames(l), ['envoy.filters.network.http_connection_manager', 'envoy.filters.network.tcp_proxy']);
  t.deepEqual(l.listener_filters, [{ name: 'envoy.filters.listener.http_inspector' }]);
  t.is(l.listener_filters_timeout, '0s');
  t.is(l.continue_on_listener_filters_timeout, true);
});

test('legacy listener filter names are envoy.listener.*', (t) => {
  const l: Listener = {
    name: '0.0.0.0_443',
    address: '0.0.0.0',
    port: 443,
    bindToPort: false,
    listenerFilters: ['tls_inspector', 'http_inspector'],
    filterChains: [],
  };
  t.deepEqual(renderListener(l, true).listener_filters, [
    { name: 'envoy.listener.tls_inspector' },
    { name: 'envoy.listener.http_inspector' },
  ]);
  t.deepEqual(renderListener(l, false).listener_filters, [
    { name: 'envoy.filters.listener.tls_inspector' },
    { name: 'envoy.filters.listener.http_inspector' },
  ]);
});

test('a listener without listener filters renders no listener_filters and no timeout fields', (t) => {
  const vo = byName(listeners(seed('redis-7000-modern')), 'virtualOutbound');
  t.false('listener_filters' in vo);
  t.false('listener_filters_timeout' in vo);
});

test('prefix_ranges are rendered as {address_prefix, prefix_len}', (t) => {
  const l = byName(listeners(seed('redis-7000')), '0.0.0.0_7000');
  const guard = l.filter_chains[0]!;
  t.deepEqual(guard.filter_chain_match, { prefix_ranges: [{ address_prefix: '10.64.192.14', prefix_len: 32 }] });
  t.deepEqual(guard.filters[0]!.typed_config, {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    stat_prefix: 'BlackHoleCluster',
    cluster: 'BlackHoleCluster',
  });
});

test('a match-all chain has no filter_chain_match; the HCM points at its RDS route', (t) => {
  const l = byName(listeners(seed('redis-7000')), '0.0.0.0_7000');
  const hcm = l.filter_chains[1]!;
  t.false('filter_chain_match' in hcm);
  t.is(hcm.filters[0]!.typed_config.stat_prefix, 'outbound_0.0.0.0_7000');
  t.is(hcm.filters[0]!.typed_config.rds?.route_config_name, '7000');
});

test('modern: sniffed chain match and default_filter_chain named PassthroughFilterChain', (t) => {
  const l = byName(listeners(seed('redis-7000-registry-only')), '0.0.0.0_7000');
  t.deepEqual(l.filter_chains[0]!.filter_chain_match, {
    transport_protocol: 'raw_buffer',
    application_protocols: ['http/1.1', 'h2c'],
  });
  t.is(l.default_filter_chain?.name, 'PassthroughFilterChain');
  t.is(l.default_filter_chain?.filters[0]?.typed_config.cluster, 'BlackHoleCluster');
});

test('virtualOutbound loop guard renders destination_port 15001', (t) => {
  const vo = byName(listeners(seed('redis-7000-modern')), 'virtualOutbound');
  t.deepEqual(
    vo.filter_chains.map((c) => [c.name, c.filter_chain_match]),
    [
      ['virtualOutbound-blackhole', { destination_port: 15001 }],
      ['virtualOutbound-catchall-tcp', undefined],
    ],
  );
});

function clusters(c: ProxyConfig): EnvoyCluster[] {
  return (section(renderConfigDump(c), 'ClustersConfigDump').dynamic_active_clusters as Array<{ cluster: EnvoyCluster }>).map(
    (x) => x.cluster,
  );
}

test('ORIGINAL_DST clusters (Passthrough and the NONE ServiceEntry) have lb_policy CLUSTER_PROVIDED', (t) => {
  const cs = clusters(seed('redis-7000-fix-serviceentry'));
  const pass = byName(cs, 'PassthroughCluster');
  t.is(pass.type, 'ORIGINAL_DST');
  t.is(pass.lb_policy, 'CLUSTER_PROVIDED');
  t.is(pass.connect_timeout, '10s');
  const se = byName(cs, 'outbound|7000||redis');
  t.is(se.type, 'ORIGINAL_DST');
  t.is(se.lb_policy, 'CLUSTER_PROVIDED');
  t.is(se.alt_stat_name, 'outbound|7000||redis', 'legacy: no ";"');
  t.false('load_assignment' in se);
  t.false('eds_cluster_config' in se);
});

test('BlackHoleCluster is STATIC with an empty load_assignment and no lb_policy', (t) => {
  const bh = byName(clusters(seed('redis-7000-modern')), 'BlackHoleCluster');
  t.is(bh.type, 'STATIC');
  t.false('lb_policy' in bh);
  t.deepEqual(bh.load_assignment, { cluster_name: 'BlackHoleCluster', endpoints: [] });
  t.is(bh.alt_stat_name, 'BlackHoleCluster;');
});

test('EDS cluster has eds_cluster_config naming itself and no inline load_assignment', (t) => {
  const name = 'outbound|7000||rediscluster.dev-self.svc.cluster.local';
  const eds = byName(clusters(seed('redis-7000-fix-service-endpoints')), name);
  t.is(eds.type, 'EDS');
  t.deepEqual(eds.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name });
  t.false('load_assignment' in eds);
  t.false('lb_policy' in eds);
});

test('EDS endpoints appear in the EndpointsConfigDump, one typed ClusterLoadAssignment per EDS cluster', (t) => {
  const dump = renderConfigDump(seed('redis-7000-fix-service-endpoints'));
  const eps = (section(dump, 'EndpointsConfigDump').dynamic_endpoint_configs as Array<{ endpoint_config: Json }>).map(
    (e) => e.endpoint_config,
  );
  const name = 'outbound|7000||rediscluster.dev-self.svc.cluster.local';
  const CLA = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
  t.deepEqual(byNameCluster(eps, name), {
    '@type': CLA,
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.6', port_value: 7000 } } } }] }],
  });
  t.deepEqual(byNameCluster(eps, 'outbound|7000||web-admin.ops.svc.cluster.local'), {
    '@type': CLA,
    cluster_name: 'outbound|7000||web-admin.ops.svc.cluster.local',
    endpoints: [],
  });
  t.deepEqual(
    eps.map((e) => e.cluster_name).sort(),
    [7000, 7001, 7002, 7003]
      .map((p) => `outbound|${p}||rediscluster.dev-self.svc.cluster.local`)
      .concat('outbound|7000||web-admin.ops.svc.cluster.local')
      .sort(),
    'only EDS clusters, not Passthrough/BlackHole',
  );
});

function byNameCluster(eps: Json[], name: string): Json | undefined {
  return eps.find((e) => e.cluster_name === name);
}

test('renderCluster: STRICT_DNS carries its endpoints inline', (t) => {
  const r = renderCluster({
    name: 'outbound|3306||mysql.demo',
    type: 'STRICT_DNS',
    altStatName: 'outbound|3306||mysql.demo;',
    endpoints: [{ address: 'mysql.demo', port: 3306 }],
    connectTimeoutMs: 10_000,
  });
  t.deepEqual(r.load_assignment, {
    cluster_name: 'outbound|3306||mysql.demo',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'mysql.demo', port_value: 3306 } } } }] }],
  });
});

test('routes: service vhost routes to its cluster with timeout 0s; allow_any → PassthroughCluster; block_all → direct_response 502', (t) => {
  const routeOf = (c: ProxyConfig) =>
    (section(renderConfigDump(c), 'RoutesConfigDump').dynamic_route_configs as Array<{ route_config: RouteConfig }>)[0]!.route_config;
  const aa = routeOf(seed('redis-7000'));
  t.is(aa.name, '7000');
  t.deepEqual(aa.virtual_hosts[0]!.routes[0], {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: 'outbound|7000||web-admin.ops.svc.cluster.local', timeout: '0s' },
  });
  t.deepEqual(aa.virtual_hosts[1], {
    name: 'allow_any',
    domains: ['*'],
    routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' } }],
  });
  const ro = routeOf(seed('redis-7000-registry-only'));
  t.deepEqual(ro.virtual_hosts[1], {
    name: 'block_all',
    domains: ['*'],
    routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
  });
});

test('the dump is plain JSON (round-trips through JSON.stringify)', (t) => {
  const dump = renderConfigDump(seed('redis-7000-fix-service-endpoints'));
  t.deepEqual(JSON.parse(JSON.stringify(dump)), dump);
});

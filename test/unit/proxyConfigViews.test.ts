import test from 'ava';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { loadScenarioFile, parseScenario, type LoadedScenario } from '../../harness/scenario/load.ts';
import {
  camelName,
  clusterTable,
  describeChainMatch,
  describeRouteDomains,
  endpointTable,
  listenerTable,
  proxyConfigView,
  routeTable,
  selectClusters,
  selectEndpoints,
  selectListeners,
  selectRoutes,
  tabwrite,
  toCamelCase,
  type Json,
} from '../../harness/views/proxyConfig.ts';

/** The dump as the sidecar serves it: rendered, then through JSON like config_dump.json. */
function dumpOf(loaded: LoadedScenario): Json {
  const config = buildProxyConfig(loaded.scenario, loaded.istio, loaded.scenario.workloads[0]!);
  return JSON.parse(JSON.stringify(renderConfigDump(config))) as Json;
}

const seed = (name: string): Json => dumpOf(loadScenarioFile(name));

function inline(name: string, workload: string, mesh: string): Json {
  const text = `name: ${name}
description: unit test
istio: "1.30"
workloads:
  - ${workload}
mesh:
${mesh}
probes:
  - { name: p, from: app, tcp: { host: 10.0.0.6, port: 1 }, expect: {} }
`;
  return dumpOf(parseScenario(text, `${name}.yaml`));
}

const table = (...lines: string[]): string => lines.join('\n') + '\n';

/** Seed: a TCP ServiceEntry without addresses and a MySQL Service with a ClusterIP, both on 3306. */
const MYSQL = inline(
  'mysql',
  '{ name: app, namespace: demo, ip: 10.64.192.20 }',
  `  services:
    - { name: mysql-server, namespace: demo1, clusterIP: 10.68.228.107, ports: [{ name: mysql, port: 3306 }] }
  endpoints:
    - { name: mysql-server, namespace: demo1, addresses: [172.20.0.30], ports: [{ name: mysql, port: 3306 }] }
  serviceEntries:
    - { name: mysql, namespace: demo, hosts: [mysql.demo], ports: [{ number: 3306, name: tcp, protocol: TCP }] }`,
);

/** Seeds: a sniffed ClusterIP Service on 80, an HTTP ServiceEntry on 80, a TLS DNS ServiceEntry on 443. */
const WEB = inline(
  'web',
  '{ name: app, namespace: default, ip: 10.64.192.20 }',
  `  services:
    - { name: proxy, namespace: default, clusterIP: 10.200.1.132, ports: [{ port: 80 }] }
  endpoints:
    - { name: proxy, namespace: default, addresses: [10.64.192.31], ports: [{ port: 8080 }] }
  serviceEntries:
    - { name: webserverv1, namespace: default, hosts: [webserverv1], ports: [{ number: 80, name: http, protocol: HTTP }] }
    - name: github
      namespace: default
      hosts: [raw.githubusercontent.com]
      ports: [{ number: 443, name: tls, protocol: TLS }]
      resolution: DNS
      endpoints: [{ address: raw.githubusercontent.com }]`,
);

// --- tabwriter

test('tabwrite pads each column to its widest cell plus the padding, leaves the last cell and trailing blanks alone', (t) => {
  const out = tabwrite(
    [
      ['A', 'BB', 'C'],
      ['long', '', 'x'],
      ['é', 'y', ''],
    ],
    { padding: 2 },
  );
  t.is(out, table('A     BB  C', 'long      x', 'é     y'));
});

test('the seed endpoint table is tabwriter padding 5 (the listener seed is padding 1)', (t) => {
  const rows = [
    ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'],
    ['172.20.0.30:3306', 'HEALTHY', 'OK', 'outbound|3306||mysql-server.demo1.svc.cluster.local'],
  ];
  t.is(
    tabwrite(rows, { padding: 5 }),
    table(
      'ENDPOINT             STATUS      OUTLIER CHECK     CLUSTER',
      '172.20.0.30:3306     HEALTHY     OK                outbound|3306||mysql-server.demo1.svc.cluster.local',
    ),
  );
});

// --- listeners

test('redis-7000 (1.4): the HTTP listener on 0.0.0.0:7000, its pod-IP guard, and virtualOutbound', (t) => {
  t.is(
    listenerTable(seed('redis-7000')),
    table(
      'ADDRESS PORT  MATCH                 DESTINATION',
      '0.0.0.0 7000  ALL                   Route: 7000',
      '0.0.0.0 7000  Addr: 10.64.192.14/32 Non-HTTP/Non-TCP',
      '0.0.0.0 15001 ALL                   PassthroughCluster',
    ),
  );
});

test('fix-service-endpoints: the ClusterIP listeners sort by port, then address, around 0.0.0.0:7000', (t) => {
  t.is(
    listenerTable(seed('redis-7000-fix-service-endpoints')),
    table(
      'ADDRESS       PORT  MATCH                 DESTINATION',
      '0.0.0.0       7000  ALL                   Route: 7000',
      '0.0.0.0       7000  Addr: 10.64.192.14/32 Non-HTTP/Non-TCP',
      '10.233.40.115 7000  ALL                   Cluster: outbound|7000||rediscluster.dev-self.svc.cluster.local',
      '10.233.40.115 7001  ALL                   Cluster: outbound|7001||rediscluster.dev-self.svc.cluster.local',
      '10.233.40.115 7002  ALL                   Cluster: outbound|7002||rediscluster.dev-self.svc.cluster.local',
      '10.233.40.115 7003  ALL                   Cluster: outbound|7003||rediscluster.dev-self.svc.cluster.local',
      '0.0.0.0       15001 ALL                   PassthroughCluster',
    ),
  );
});

test('seed table 1 exactly: the mysql ServiceEntry and Service on 3306 (--port 3306, Istio 1.30)', (t) => {
  t.is(
    listenerTable(MYSQL, { port: 3306 }),
    table(
      'ADDRESS       PORT MATCH DESTINATION',
      '0.0.0.0       3306 ALL   Cluster: outbound|3306||mysql.demo',
      '10.68.228.107 3306 ALL   Cluster: outbound|3306||mysql-server.demo1.svc.cluster.local',
    ),
  );
});

test('seed table 2 exactly: an HTTP port and a sniffed ClusterIP port on 80 (--port 80)', (t) => {
  t.is(
    listenerTable(WEB, { port: 80 }),
    table(
      'ADDRESS      PORT MATCH     DESTINATION',
      '0.0.0.0      80   App: HTTP Route: 80',
      '0.0.0.0      80   ALL       PassthroughCluster',
      '10.200.1.132 80   App: HTTP Route: proxy.default.svc.cluster.local:80',
      '10.200.1.132 80   ALL       Cluster: outbound|80||proxy.default.svc.cluster.local',
    ),
  );
});

test('modern virtualOutbound: the catch-all and its loop guard (a BlackHoleCluster tcp_proxy reads Non-HTTP/Non-TCP)', (t) => {
  t.is(
    listenerTable(seed('redis-7000-modern'), { port: 15001 }),
    table(
      'ADDRESS PORT  MATCH         DESTINATION',
      '0.0.0.0 15001 ALL           PassthroughCluster',
      '0.0.0.0 15001 Addr: *:15001 Non-HTTP/Non-TCP',
    ),
  );
});

test('a TLS ServiceEntry without addresses shows its SNI chain', (t) => {
  t.is(
    listenerTable(WEB, { port: 443 }),
    table(
      'ADDRESS PORT MATCH                          DESTINATION',
      '0.0.0.0 443  ALL                            PassthroughCluster',
      '0.0.0.0 443  SNI: raw.githubusercontent.com Cluster: outbound|443||raw.githubusercontent.com',
    ),
  );
});

test('listener filters: --address, --type (case-insensitive), and a port nobody listens on', (t) => {
  t.deepEqual(
    selectListeners(MYSQL, { address: '10.68.228.107' }).map((l) => l.name),
    ['10.68.228.107_3306'],
  );
  t.deepEqual(
    selectListeners(WEB, { type: 'http' })
      .map((l) => l.name)
      .sort(),
    ['0.0.0.0_80', '10.200.1.132_80'],
  );
  t.deepEqual(
    selectListeners(WEB, { type: 'TCP' })
      .map((l) => l.name)
      .sort(),
    ['0.0.0.0_443', 'virtualOutbound'],
  );
  t.deepEqual(
    selectListeners(WEB, { address: '0.0.0.0', port: 80 }).map((l) => l.name),
    ['0.0.0.0_80'],
  );
  t.is(listenerTable(MYSQL, { port: 9999 }), table('ADDRESS PORT MATCH DESTINATION'));
});

test('port sorts before address, and addresses sort as strings (10.100.x before 10.96.x), like istioctl', (t) => {
  const dump = inline(
    'order',
    '{ name: app, namespace: default, ip: 10.64.192.20 }',
    `  services:
    - { name: kubernetes, namespace: default, clusterIP: 10.96.0.1, ports: [{ name: https, port: 443 }] }
    - { name: istiod, namespace: istio-system, clusterIP: 10.100.93.102, ports: [{ name: tls, port: 443 }] }
    - { name: kube-dns, namespace: kube-system, clusterIP: 10.96.0.10, ports: [{ name: tcp-dns, port: 53 }] }`,
  );
  const rows = listenerTable(dump)
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/).slice(0, 2).join(' '));
  t.deepEqual(rows, ['10.96.0.10 53', '10.100.93.102 443', '10.96.0.1 443', '0.0.0.0 15001', '0.0.0.0 15001']);
});

test('chain matches: prefix ranges with and without a destination port, transport protocols other than raw_buffer', (t) => {
  t.is(describeChainMatch({ prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }] }), 'Addr: 10.0.0.0/24');
  t.is(
    describeChainMatch({ prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }], destination_port: 15001 }),
    'Addr: 10.0.0.0/24:15001',
  );
  t.is(describeChainMatch({ transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }), 'App: HTTP');
  t.is(
    describeChainMatch({ transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }),
    'Trans: tls; App: istio-peer-exchange,istio',
  );
  t.is(describeChainMatch({ server_names: ['a.example', 'b.example'], transport_protocol: 'tls' }), 'SNI: a.example,b.example; Trans: tls');
  t.is(describeChainMatch(undefined), 'ALL');
});

test('static listeners with an inline route (a real sidecar dump) are listed too', (t) => {
  const dump = {
    configs: [
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
        static_listeners: [
          {
            listener: {
              name: 'health',
              address: { socket_address: { address: '0.0.0.0', port_value: 15021 } },
              filter_chains: [
                {
                  filters: [
                    {
                      name: 'envoy.filters.network.http_connection_manager',
                      typed_config: {
                        route_config: { virtual_hosts: [{ domains: ['*'], routes: [{ match: { prefix: '/healthz/ready' } }] }] },
                      },
                    },
                  ],
                },
              ],
            },
          },
        ],
      },
    ],
  };
  t.is(listenerTable(dump), table('ADDRESS PORT  MATCH DESTINATION', '0.0.0.0 15021 ALL   Inline Route: /healthz/ready*'));
});

test('-o json: the matching listeners, camelCase keys, 4-space indent, no Any @type at the top', (t) => {
  const out = proxyConfigView('listener', MYSQL, { port: 3306 }, 'json');
  t.true(out.startsWith('[\n    {\n        "name": '), out.slice(0, 40));
  const list = JSON.parse(out) as Json[];
  // Dump order (the Service was built before the ServiceEntry), not the table's sort.
  t.deepEqual(
    list.map((l) => l.name),
    ['10.68.228.107_3306', '0.0.0.0_3306'],
  );
  const first = list[1] as Json & { filterChains: Array<{ filters: Array<{ typedConfig: Json }> }> };
  t.deepEqual(first.address, { socketAddress: { address: '0.0.0.0', portValue: 3306 } });
  t.is(first.filterChains[0]!.filters[0]!.typedConfig.statPrefix, 'outbound|3306||mysql.demo');
  t.is(
    first.filterChains[0]!.filters[0]!.typedConfig['@type'],
    'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  );
  t.false('@type' in first);
  t.notRegex(out, /"[a-z]+_[a-z_]+":/, 'no snake_case key left');
});

test('toCamelCase keeps map keys and Struct fields as they are', (t) => {
  const converted = toCamelCase({
    alt_stat_name: 'x',
    metadata: { filter_metadata: { istio: { config: '/apis/x', some_key: 1 } } },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicit_http_config: {} } },
    list: [{ port_value: 1 }],
  });
  t.deepEqual(converted, {
    altStatName: 'x',
    metadata: { filterMetadata: { istio: { config: '/apis/x', some_key: 1 } } },
    typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicitHttpConfig: {} } },
    list: [{ portValue: 1 }],
  });
  t.is(camelName('ipv4_compat'), 'ipv4Compat');
  t.is(camelName('x_1y'), 'x1y');
});

// --- clusters

test('cluster table: special clusters first by name, then FQDN/port/direction from outbound|PORT||FQDN', (t) => {
  const dump = structuredClone(WEB);
  const github = selectClusters(dump, { fqdn: 'raw.githubusercontent.com' })[0]!;
  github.metadata = {
    filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/github' } },
  };
  t.is(
    clusterTable(dump),
    table(
      'SERVICE FQDN                        PORT     SUBSET     DIRECTION     TYPE             DESTINATION RULE',
      'BlackHoleCluster                    -        -          -             STATIC',
      'PassthroughCluster                  -        -          -             ORIGINAL_DST',
      'proxy.default.svc.cluster.local     80       -          outbound      EDS',
      'raw.githubusercontent.com           443      -          outbound      STRICT_DNS       github.default',
      'webserverv1                         80       -          outbound      ORIGINAL_DST',
    ),
  );
});

test('cluster filters match parts of the name, like istioctl: --fqdn, --port, --direction', (t) => {
  const names = (f: Parameters<typeof selectClusters>[1]) => selectClusters(seed('redis-7000-fix-service-endpoints'), f).map((c) => c.name);
  t.deepEqual(names({ fqdn: 'rediscluster', port: 7001 }), ['outbound|7001||rediscluster.dev-self.svc.cluster.local']);
  t.deepEqual(names({ port: 7000 }), [
    'outbound|7000||rediscluster.dev-self.svc.cluster.local',
    'outbound|7000||web-admin.ops.svc.cluster.local',
  ]);
  t.deepEqual(names({ direction: 'inbound' }), []);
  t.is(names({ direction: 'outbound' }).length, 5);
  const json = JSON.parse(proxyConfigView('cluster', MYSQL, { fqdn: 'mysql.demo' }, 'json')) as Json[];
  t.deepEqual(
    json.map((c) => [c.name, c.altStatName, c.connectTimeout]),
    [['outbound|3306||mysql.demo', 'outbound|3306||mysql.demo;', '10s']],
  );
});

// --- routes

test('route table: one row per virtual host and route; the allow_any passthrough is not listed', (t) => {
  t.is(
    routeTable(WEB),
    table(
      'NAME                                   DOMAINS         MATCH     VIRTUAL SERVICE',
      '80                                     webserverv1     /*',
      'proxy.default.svc.cluster.local:80     *               /*',
    ),
  );
});

test('REGISTRY_ONLY: the block_all catch-all (a direct response, not passthrough) is listed as *', (t) => {
  const rows = routeTable(seed('redis-7000-registry-only')).trimEnd().split('\n').slice(1);
  t.deepEqual(
    rows.map((r) => r.split(/ {2,}/)),
    [
      ['7000', 'web-admin.ops, web-admin.ops.svc.cluster + 1 more...', '/*'],
      ['7000', '*', '/*'],
    ],
  );
});

test('route domains: without ports, minus names whose shorter form is listed, two shown', (t) => {
  t.is(describeRouteDomains(['*']), '*');
  t.is(describeRouteDomains(['webserverv1', 'webserverv1:80']), 'webserverv1');
  const istio = [
    'reviews.default.svc.cluster.local',
    'reviews.default.svc.cluster.local:9080',
    'reviews',
    'reviews:9080',
    'reviews.default.svc',
    'reviews.default',
    '10.0.0.1',
  ];
  t.is(describeRouteDomains(istio), 'reviews, reviews.default + 1 more...');
  t.is(describeRouteDomains(['a.b.svc.cluster.local', 'a.b']), 'a.b');
  t.is(describeRouteDomains(['[fd00:10:96::7fc7]', '[fd00:10:96::7fc7]:80', 'x']), '[fd00:10:96::7fc7], x');
});

test('route --name, numeric route names first, and the VirtualService from route metadata', (t) => {
  const dump = structuredClone(WEB);
  const r80 = selectRoutes(dump, { name: '80' });
  t.deepEqual(
    r80.map((r) => r.name),
    ['80'],
  );
  t.deepEqual(
    selectRoutes(dump).map((r) => r.name),
    ['80', 'proxy.default.svc.cluster.local:80'],
  );
  const vh = (r80[0]!.virtual_hosts as Array<{ routes: Json[] }>)[0]!;
  vh.routes[0]!.metadata = {
    filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/webserver' } },
  };
  t.is(
    routeTable(dump, { name: '80' }),
    table('NAME     DOMAINS         MATCH     VIRTUAL SERVICE', '80       webserverv1     /*        webserver.default'),
  );
});

// --- endpoints

test('seed endpoint table exactly: the mysql-server Endpoints through the EDS section', (t) => {
  t.is(
    endpointTable(MYSQL),
    table(
      'ENDPOINT             STATUS      OUTLIER CHECK     CLUSTER',
      '172.20.0.30:3306     HEALTHY     OK                outbound|3306||mysql-server.demo1.svc.cluster.local',
    ),
  );
});

test('STRICT_DNS clusters contribute their load_assignment; rows sort by address', (t) => {
  t.is(
    endpointTable(WEB),
    table(
      'ENDPOINT                          STATUS      OUTLIER CHECK     CLUSTER',
      '10.64.192.31:8080                 HEALTHY     OK                outbound|80||proxy.default.svc.cluster.local',
      'raw.githubusercontent.com:443     HEALTHY     OK                outbound|443||raw.githubusercontent.com',
    ),
  );
});

test('endpoint filters: --port, --address, --cluster; -o json keeps only matching endpoints', (t) => {
  const dump = seed('redis-7000-fix-service-endpoints');
  const rows = (f: Parameters<typeof endpointTable>[1]) => endpointTable(dump, f).trimEnd().split('\n').length - 1;
  t.is(rows({}), 4);
  t.is(rows({ port: 7002 }), 1);
  t.is(rows({ address: '10.0.0.6' }), 4);
  t.is(rows({ address: '10.0.0.7' }), 0);
  t.is(rows({ cluster: 'outbound|7003||rediscluster.dev-self.svc.cluster.local' }), 1);
  t.deepEqual(
    selectEndpoints(dump, { port: 7002 }).map((a) => a.cluster_name),
    ['outbound|7002||rediscluster.dev-self.svc.cluster.local'],
  );
  const json = JSON.parse(proxyConfigView('endpoint', dump, { port: 7002 }, 'json')) as Array<{
    endpoints: Array<{ lbEndpoints: Array<{ endpoint: { address: { socketAddress: Json } } }> }>;
  }>;
  t.deepEqual(json[0]!.endpoints[0]!.lbEndpoints[0]!.endpoint.address.socketAddress, { address: '10.0.0.6', portValue: 7002 });
});

test('a file that is not a config_dump is refused with a message', (t) => {
  t.throws(() => listenerTable({ listeners: [] }), { message: /not an Envoy config_dump/ });
});

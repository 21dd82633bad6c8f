/**
 * `egress-lab replay`, its pure parts: a config dump as a static bootstrap (routes inlined, EDS
 * made static, what cannot run here taken out and named), the mapping file, and the scenario a
 * replay runs.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapFromDump, parseNodeId, ReplayError } from '../../harness/replay/bootstrapFromDump.ts';
import { endpointRewrite, mappingLines, parseMapping } from '../../harness/replay/mapping.ts';
import { replayScenarioYaml, unmappedEndpoints } from '../../harness/replay/replayScenario.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';

type Json = Record<string, unknown>;
// The parts of a config_dump, and of the bootstrap made from it, that these tests read or edit; the rest stays loose.
interface Dump extends Json {
  configs: Json[];
}
interface Filter extends Json {
  name: string;
  typed_config?: Json;
}
interface Listener extends Json {
  name: string;
  filter_chains?: Array<Json & { filters: Filter[] }>;
}
interface Cluster extends Json {
  name: string;
  load_assignment?: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: Json } } }> }> };
}
interface ListenersDump extends Json {
  dynamic_listeners: Array<{ name: string; active_state: { listener: Listener } }>;
}
interface ClustersDump extends Json {
  dynamic_active_clusters: Array<{ cluster: Cluster }>;
}
interface StaticResources {
  listeners: Listener[];
  clusters: Cluster[];
}
const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-replay-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

function modelDump(name: string, workload: string): Dump {
  const l = loadScenarioFile(name);
  return renderConfigDump(
    buildProxyConfig(
      l.scenario,
      l.istio,
      l.scenario.workloads.find((w) => w.name === workload)!,
    ),
  ) as Dump;
}
const seed002 = modelDump('mysql-3306-foreign-serviceentry', 'mysql-client');

test("seed 002's dump: its listeners and clusters become static, the EDS cluster gets the dump's endpoints, the node names the pod", (t) => {
  const r = bootstrapFromDump(seed002);
  t.deepEqual(r.node, {
    id: 'sidecar~172.20.0.31~mysql-client.demo1~demo1.svc.cluster.local',
    ip: '172.20.0.31',
    name: 'mysql-client',
    namespace: 'demo1',
    istioVersion: '1.6',
  });
  t.deepEqual(r.listeners.sort(), ['0.0.0.0_3306', '10.68.228.107_3306', 'virtualOutbound']);
  const eds = (r.bootstrap.static_resources as StaticResources).clusters.find(
    (c) => c.name === 'outbound|3306||mysql-server.demo1.svc.cluster.local',
  )!;
  t.is(eds.type, 'STATIC');
  t.is(eds.eds_cluster_config, undefined);
  t.deepEqual(eds.load_assignment?.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address, {
    address: '172.20.0.30',
    port_value: 3306,
  });
  t.false(
    JSON.stringify(r.bootstrap.static_resources).includes('"@type":"type.googleapis.com/envoy.config.listener.v3.Listener"'),
    'messages are unpacked from their Any',
  );
  t.deepEqual(r.bootstrap.admin, { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
  t.deepEqual(r.endpoints, [{ cluster: 'outbound|3306||mysql-server.demo1.svc.cluster.local', address: '172.20.0.30', port: 3306 }]);
});

test("an HCM's RDS route is inlined; a route the dump lacks is an error naming listener and route", (t) => {
  const dump = modelDump('virtualservice-timeout', 'sleep');
  const r = bootstrapFromDump(dump);
  const hcms = JSON.stringify((r.bootstrap.static_resources as StaticResources).listeners);
  t.false(hcms.includes('"rds"'));
  t.true(hcms.includes('"route_config":{'));
  const noRoutes = { configs: dump.configs.filter((c) => !String(c['@type']).endsWith('RoutesConfigDump')) };
  t.throws(() => bootstrapFromDump(noRoutes), {
    instanceOf: ReplayError,
    message: /listener .*: its route configuration ".+" is not in the dump/,
  });
});

test('what cannot run here is taken out and named: xDS/SDS clusters, SDS transport sockets, inbound listeners, istio-only and Wasm filters', (t) => {
  const dump = structuredClone(seed002);
  const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump')) as ListenersDump;
  const clusters = dump.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump')) as ClustersDump;
  const sds = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }] },
    },
  };
  clusters.static_clusters = [{ cluster: { name: 'xds-grpc', type: 'STATIC' } }, { cluster: { name: 'sds-grpc', type: 'STATIC' } }];
  clusters.dynamic_active_clusters[0]!.cluster.transport_socket_matches = [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: sds },
    { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
  ];
  listeners.dynamic_listeners.push({
    name: 'virtualInbound',
    active_state: { listener: { name: 'virtualInbound', address: { socket_address: { address: '0.0.0.0', port_value: 15006 } } } },
  });
  const l3306 = listeners.dynamic_listeners.find((l) => l.name === '0.0.0.0_3306')!.active_state.listener;
  l3306.filter_chains![0]!.filters.unshift(
    {
      name: 'istio.metadata_exchange',
      typed_config: {
        '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
        type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange',
      },
    },
    { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } },
    { name: 'wasm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm' } },
    {
      name: 'extensions.istio.io/wasmplugin/demo.auth',
      config_discovery: { config_source: { ads: {} }, type_urls: ['type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm'] },
    },
  );
  l3306.filter_chains![0]!.filters[0]!.typed_config!.type_url = 'type.googleapis.com/istio.telemetry.metadataexchange.v1.MetadataExchange';
  const r = bootstrapFromDump(dump);
  t.false(r.clusters.includes('xds-grpc') || r.clusters.includes('sds-grpc'));
  t.false(r.listeners.includes('virtualInbound'));
  t.false(JSON.stringify(r.bootstrap).includes('sds_config'));
  const names = (r.bootstrap.static_resources as StaticResources).listeners
    .find((l) => l.name === '0.0.0.0_3306')!
    .filter_chains![0]!.filters.map((f) => f.name);
  t.deepEqual(names, ['envoy.tcp_proxy']);
  t.true(r.notes.some((n) => /listener virtualInbound: inbound, not replayed/.test(n)));
  t.true(r.notes.some((n) => /removed istio\.metadata_exchange \(type\.googleapis\.com\/istio\.telemetry/.test(n)));
  t.true(r.notes.some((n) => /removed wasm \(a Wasm plugin/.test(n)));
  t.true(r.notes.some((n) => /removed extensions\.istio\.io\/wasmplugin\/demo\.auth \(its config is discovered over xDS \(ECDS\)/.test(n)));
  t.true(r.notes.some((n) => /removed istio\.stats \(type\.googleapis\.com\/stats\.PluginConfig\)/.test(n)));
  t.true(r.notes.some((n) => /its istio mTLS match needs the pod's SDS secrets, so it connects in plain text/.test(n)));
});

test('a dump without EDS, without listeners, or with a node that is no sidecar is refused with what to do', (t) => {
  const noEds = { configs: seed002.configs.filter((c) => !String(c['@type']).endsWith('EndpointsConfigDump')) };
  t.throws(() => bootstrapFromDump(noEds), {
    message:
      /takes its endpoints from EDS, and the dump has none: take it with `istioctl proxy-config all -o json` or \/config_dump\?include_eds/,
  });
  t.throws(() => bootstrapFromDump({ nope: 1 }), { message: /not an Envoy config dump/ });
  t.throws(() => parseNodeId('router~10.0.0.1~gw.ns~ns.svc.cluster.local'), { message: /is not a sidecar's/ });
});

test('the mapping file: servers by address, endpoint rewrites, errors naming the file and field', (t) => {
  const m = parseMapping(
    'servers:\n  - { address: 10.10.13.110, ports: [3306], kind: mysql }\n  - { address: 172.20.0.30, ports: [3306], kind: mysql, lab: 10.10.14.30 }\n',
    'map.yaml',
  );
  t.deepEqual(endpointRewrite(m)('172.20.0.30', 3306), { address: '10.10.14.30', port: 3306 });
  t.is(endpointRewrite(m)('10.10.13.110', 3306), undefined);
  t.deepEqual(mappingLines(m), [
    '10.10.13.110:3306 → lab mysql server at 10.10.13.110',
    "172.20.0.30:3306 → lab mysql server at 10.10.14.30 (the config's endpoint rewritten to it)",
  ]);
  t.throws(() => parseMapping('servers:\n  - { address: 10.0.0.1, ports: [3306], kind: postgres }\n', 'map.yaml'), {
    message: /^map\.yaml: servers\.0\.kind: /,
  });
  t.throws(() => parseMapping('servers:\n  - { address: nope, ports: [1], kind: mysql }\n', 'map.yaml'), {
    message: 'map.yaml: servers.0.address: expected an IPv4 address',
  });
  t.throws(() => parseMapping('servers: [', 'map.yaml'), { message: /^map\.yaml: not YAML/ });
});

test("the replay scenario loads: the dump's pod, a server per mapped address, a probe per destination (raw TCP where nothing is mapped)", (t) => {
  const m = parseMapping('servers:\n  - { address: 10.10.13.110, ports: [3306], kind: mysql }\n', 'map.yaml');
  const r = bootstrapFromDump(seed002, endpointRewrite(m));
  const file = join(tmp, 'replay-mysql-client.yaml');
  writeFileSync(
    file,
    replayScenarioYaml(
      r,
      m,
      [
        { host: '10.10.13.110', port: 3306, text: '10.10.13.110:3306' },
        { host: '10.68.228.107', port: 3306, text: '10.68.228.107:3306' },
      ],
      '1.31',
      'dump.json',
    ),
  );
  const s = loadScenarioFile(file).scenario;
  t.deepEqual(
    s.workloads.map((w) => [w.name, w.namespace, w.ip, w.sidecar]),
    [['mysql-client', 'demo1', '172.20.0.31', true]],
  );
  t.deepEqual(
    s.externalServers.map((x) => [x.kind, x.addresses, x.ports]),
    [['mysql', ['10.10.13.110'], [3306]]],
  );
  t.deepEqual(
    s.probes.map((p) => p.kind),
    ['mysql', 'tcp'],
  );
  t.is(s.mesh.services.length + s.mesh.serviceEntries.length, 0, 'the dump, not istiod, decides');
  t.deepEqual(unmappedEndpoints(r, m), ['172.20.0.30:3306 (outbound|3306||mysql-server.demo1.svc.cluster.local)']);
});

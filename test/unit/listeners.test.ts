import test from 'ava';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { buildListeners, isMatchAll } from '../../harness/model/listeners.ts';
import { visibleServices } from '../../harness/model/meshServices.ts';
import { loadScenarioFile, parseScenario, type LoadedScenario } from '../../harness/scenario/load.ts';
import type { FilterChain, Listener, ProxyConfig } from '../../harness/model/types.ts';

const WORKLOADS = `
  - { name: sleep, namespace: dev-self, ip: 10.64.192.14 }
  - { name: other, namespace: ext, ip: 10.64.192.15 }`;

/** A scenario with the given Istio version and `mesh:` body (indented by two spaces). */
function inline(istio: string, mesh: string): LoadedScenario {
  const text = `name: inline
description: unit test
istio: "${istio}"
workloads:${WORKLOADS}
mesh:
${mesh}
probes:
  - { name: p, from: sleep, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`;
  return parseScenario(text, 'inline.yaml');
}

function configOf(loaded: LoadedScenario, workload = 'sleep'): ProxyConfig {
  const w = loaded.scenario.workloads.find((x) => x.name === workload);
  if (!w) throw new Error(`no workload ${workload}`);
  return buildProxyConfig(loaded.scenario, loaded.istio, w);
}

const proxy = (istio: string, mesh: string, workload = 'sleep'): ProxyConfig => configOf(inline(istio, mesh), workload);
const seed = (name: string): ProxyConfig => configOf(loadScenarioFile(name));

function listener(c: ProxyConfig, name: string): Listener {
  const l = c.listeners.find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}; have ${c.listeners.map((x) => x.name).join(', ')}`);
  return l;
}

const names = (c: ProxyConfig) => c.listeners.map((l) => l.name).sort();
const tcpTo = (cluster: string) => ({ kind: 'tcp_proxy', cluster, statPrefix: cluster });
const HTTP_MATCH = { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] };

const HTTP_SERVICE_7000 = `  services:
    - name: web-admin
      namespace: ops
      clusterIP: 10.233.0.115
      selector: { app: web-admin }
      ports: [{ name: http-admin, port: 7000 }]`;

// ---------------------------------------------------------------- seed 000, legacy (Istio 1.4)

test('legacy 1.4: an HTTP Service port 7000 gives exactly virtualOutbound and 0.0.0.0_7000', (t) => {
  const c = seed('redis-7000');
  t.is(c.era, 'legacy');
  t.deepEqual(names(c), ['0.0.0.0_7000', 'virtualOutbound']);
});

test('legacy 1.4: 0.0.0.0_7000 has a pod-IP/32 BlackHole chain, then a match-all HCM, and no default chain', (t) => {
  const l = listener(seed('redis-7000'), '0.0.0.0_7000');
  t.is(l.address, '0.0.0.0');
  t.is(l.port, 7000);
  t.false(l.bindToPort);
  t.deepEqual(l.filterChains, [
    { match: { prefixRanges: ['10.64.192.14/32'] }, filter: tcpTo('BlackHoleCluster') },
    { match: {}, filter: { kind: 'http_connection_manager', statPrefix: 'outbound_0.0.0.0_7000', routeConfigName: '7000' } },
  ] as FilterChain[]);
  t.is(l.defaultFilterChain, undefined);
});

test('legacy 1.4: the HTTP listener has no http_inspector (the HCM matches everything, nothing is sniffed)', (t) => {
  t.deepEqual(listener(seed('redis-7000'), '0.0.0.0_7000').listenerFilters, []);
});

test('legacy 1.4: the BlackHole guard uses the pod IP of the workload the config is built for', (t) => {
  const c = proxy('1.4', HTTP_SERVICE_7000, 'other');
  t.deepEqual(listener(c, '0.0.0.0_7000').filterChains[0]!.match, { prefixRanges: ['10.64.192.15/32'] });
});

test('legacy 1.4: two HTTP Services on one port share one HCM chain and one guard chain', (t) => {
  const c = proxy(
    '1.4',
    `${HTTP_SERVICE_7000}
    - name: web-two
      namespace: ops
      clusterIP: 10.233.0.116
      ports: [{ name: http, port: 7000 }]`,
  );
  const l = listener(c, '0.0.0.0_7000');
  t.is(l.filterChains.length, 2);
  const route = c.routes.find((r) => r.name === '7000')!;
  t.deepEqual(
    route.virtualHosts.map((v) => v.name),
    ['web-admin.ops.svc.cluster.local:7000', 'web-two.ops.svc.cluster.local:7000', 'allow_any'],
  );
});

test('legacy 1.4: virtualOutbound has only the catch-all chain to PassthroughCluster', (t) => {
  const vo = listener(seed('redis-7000'), 'virtualOutbound');
  t.deepEqual(vo.filterChains, [{ name: 'virtualOutbound-catchall-tcp', match: {}, filter: tcpTo('PassthroughCluster') }] as FilterChain[]);
});

// ---------------------------------------------------------------- modern (Istio 1.30)

test('modern 1.30: the HTTP listener has http_inspector and one HCM chain matching raw_buffer + [http/1.1, h2c]', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  t.deepEqual(l.listenerFilters, ['http_inspector']);
  t.deepEqual(l.filterChains, [
    { match: HTTP_MATCH, filter: { kind: 'http_connection_manager', statPrefix: 'outbound_0.0.0.0_7000', routeConfigName: '7000' } },
  ] as FilterChain[]);
  t.false(
    l.filterChains.some((c) => c.match.prefixRanges?.length),
    'no pod-IP guard in the modern listener',
  );
});

test('modern 1.30 ALLOW_ANY: the HTTP listener default chain is PassthroughFilterChain → PassthroughCluster', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  t.deepEqual(l.defaultFilterChain, { name: 'PassthroughFilterChain', match: {}, filter: tcpTo('PassthroughCluster') } as FilterChain);
});

test('modern 1.30 REGISTRY_ONLY: the HTTP listener default chain is PassthroughFilterChain → BlackHoleCluster', (t) => {
  const l = listener(seed('redis-7000-registry-only'), '0.0.0.0_7000');
  t.deepEqual(l.defaultFilterChain, { name: 'PassthroughFilterChain', match: {}, filter: tcpTo('BlackHoleCluster') } as FilterChain);
});

test('modern: virtualOutbound is bound on 0.0.0.0:15001 with use_original_dst and no listener filters', (t) => {
  const vo = listener(seed('redis-7000-modern'), 'virtualOutbound');
  t.is(vo.address, '0.0.0.0');
  t.is(vo.port, 15001);
  t.true(vo.bindToPort);
  t.true(vo.useOriginalDst);
  t.deepEqual(vo.listenerFilters, []);
});

test('modern ALLOW_ANY: virtualOutbound has the 15001 loop guard to BlackHole, then a catch-all to Passthrough', (t) => {
  const vo = listener(seed('redis-7000-modern'), 'virtualOutbound');
  t.deepEqual(vo.filterChains, [
    { name: 'virtualOutbound-blackhole', match: { destinationPort: 15001 }, filter: tcpTo('BlackHoleCluster') },
    { name: 'virtualOutbound-catchall-tcp', match: {}, filter: tcpTo('PassthroughCluster') },
  ] as FilterChain[]);
});

test('modern REGISTRY_ONLY: the virtualOutbound catch-all goes to BlackHoleCluster', (t) => {
  const vo = listener(seed('redis-7000-registry-only'), 'virtualOutbound');
  t.deepEqual(
    vo.filterChains.map((c) => [c.name, c.filter]),
    [
      ['virtualOutbound-blackhole', tcpTo('BlackHoleCluster')],
      ['virtualOutbound-catchall-tcp', tcpTo('BlackHoleCluster')],
    ],
  );
});

test('only virtualOutbound binds a port; every per-port listener has bind_to_port false', (t) => {
  for (const c of [seed('redis-7000'), seed('redis-7000-fix-serviceentry'), seed('redis-7000-fix-service-endpoints')]) {
    for (const l of c.listeners) t.is(l.bindToPort, l.name === 'virtualOutbound', l.name);
  }
});

// ---------------------------------------------------------------- ServiceEntries

test('SE with addresses 10.0.0.6/32 and tcp ports: one 10.0.0.6_PORT listener per port, match-all tcp_proxy to outbound|PORT||redis', (t) => {
  const c = seed('redis-7000-fix-serviceentry');
  t.deepEqual(names(c), ['0.0.0.0_7000', '10.0.0.6_7000', '10.0.0.6_7001', '10.0.0.6_7002', '10.0.0.6_7003', 'virtualOutbound']);
  for (const port of [7000, 7001, 7002, 7003]) {
    const l = listener(c, `10.0.0.6_${port}`);
    t.is(l.address, '10.0.0.6');
    t.deepEqual(l.filterChains, [{ match: {}, filter: tcpTo(`outbound|${port}||redis`) }] as FilterChain[]);
    t.is(l.defaultFilterChain, undefined);
  }
});

test('SE resolution NONE gives an ORIGINAL_DST cluster with no endpoints', (t) => {
  const cl = seed('redis-7000-fix-serviceentry').clusters.find((x) => x.name === 'outbound|7000||redis');
  t.truthy(cl);
  t.is(cl!.type, 'ORIGINAL_DST');
  t.deepEqual(cl!.endpoints, []);
  t.is(cl!.service, 'ServiceEntry redis');
});

test('SE with a /32 address is a VIP: no 0.0.0.0 listener is made for its TCP ports', (t) => {
  const c = seed('redis-7000-fix-serviceentry');
  t.false(names(c).includes('0.0.0.0_7001'));
});

test('TCP SE without addresses on 3306: 0.0.0.0_3306 with a single match-all chain that captures everything', (t) => {
  for (const istio of ['1.4', '1.30']) {
    const c = proxy(
      istio,
      `  serviceEntries:
    - name: mysql
      namespace: demo
      hosts: [mysql.demo]
      ports: [{ number: 3306, name: tcp, protocol: TCP }]
      resolution: DNS`,
    );
    const l = listener(c, '0.0.0.0_3306');
    t.deepEqual(l.filterChains, [{ match: {}, filter: tcpTo('outbound|3306||mysql.demo') }] as FilterChain[], istio);
    t.is(l.defaultFilterChain, undefined, `${istio}: a lone match-all chain stays in filter_chains`);
    t.is(c.clusters.find((x) => x.name === 'outbound|3306||mysql.demo')?.type, 'STRICT_DNS', istio);
  }
});

test('TCP SE with a real CIDR: 0.0.0.0_PORT gets a prefix_ranges chain and a PassthroughFilterChain default', (t) => {
  const mesh = (policy: string) => `  outboundTrafficPolicy: ${policy}
  serviceEntries:
    - name: redis-net
      namespace: dev-self
      hosts: [redis.net]
      addresses: [10.0.0.0/24]
      ports: [{ number: 7000, name: tcp, protocol: TCP }]`;
  const aa = listener(proxy('1.30', mesh('ALLOW_ANY')), '0.0.0.0_7000');
  t.deepEqual(aa.filterChains, [{ match: { prefixRanges: ['10.0.0.0/24'] }, filter: tcpTo('outbound|7000||redis.net') }] as FilterChain[]);
  t.deepEqual(aa.defaultFilterChain, { name: 'PassthroughFilterChain', match: {}, filter: tcpTo('PassthroughCluster') } as FilterChain);
  t.deepEqual(aa.listenerFilters, []);
  const ro = listener(proxy('1.30', mesh('REGISTRY_ONLY')), '0.0.0.0_7000');
  t.deepEqual(ro.defaultFilterChain?.filter, tcpTo('BlackHoleCluster'));
});

test('TCP SE with a CIDR makes no VIP listener', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: redis-net
      hosts: [redis.net]
      addresses: [10.0.0.0/24]
      ports: [{ number: 7000, protocol: TCP }]`,
  );
  t.deepEqual(names(c), ['0.0.0.0_7000', 'virtualOutbound']);
});

test('modern: HTTP Service + TCP SE without VIP on one port merge into a sniffed listener whose default is the TCP chain', (t) => {
  const c = proxy(
    '1.30',
    `${HTTP_SERVICE_7000}
  serviceEntries:
    - name: redis
      namespace: dev-self
      hosts: [redis.ext]
      ports: [{ number: 7000, name: tcp, protocol: TCP }]`,
  );
  const l = listener(c, '0.0.0.0_7000');
  t.deepEqual(l.listenerFilters, ['http_inspector']);
  t.deepEqual(
    l.filterChains.map((x) => x.filter.kind),
    ['http_connection_manager'],
  );
  t.deepEqual(l.filterChains[0]!.match, HTTP_MATCH);
  t.deepEqual(l.defaultFilterChain, { match: {}, filter: tcpTo('outbound|7000||redis.ext') } as FilterChain);
  t.not(l.defaultFilterChain?.name, 'PassthroughFilterChain');
});

test('modern: the merge gives the same listener when the TCP SE is older than the HTTP Service', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: web-admin
      namespace: ops
      clusterIP: 10.233.0.115
      ports: [{ name: http-admin, port: 7000 }]
      creationOrder: 10
  serviceEntries:
    - name: redis
      hosts: [redis.ext]
      ports: [{ number: 7000, protocol: TCP }]`,
  );
  const l = listener(c, '0.0.0.0_7000');
  t.deepEqual(l.listenerFilters, ['http_inspector']);
  t.deepEqual(
    l.filterChains.map((x) => x.filter.kind),
    ['http_connection_manager'],
  );
  t.deepEqual(l.defaultFilterChain?.filter, tcpTo('outbound|7000||redis.ext'));
});

test('two TCP SEs without VIP on one port: the newer is dropped with a pilot_conflict_outbound_listener_tcp_over_current_tcp note', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: first
      hosts: [first.ext]
      ports: [{ number: 3306, protocol: TCP }]
    - name: second
      hosts: [second.ext]
      ports: [{ number: 3306, protocol: TCP }]`,
  );
  const l = listener(c, '0.0.0.0_3306');
  t.deepEqual(l.filterChains, [{ match: {}, filter: tcpTo('outbound|3306||first.ext') }] as FilterChain[]);
  const note = c.fidelityNotes.find((n) => n.includes('pilot_conflict_outbound_listener_tcp_over_current_tcp'));
  t.truthy(note, c.fidelityNotes.join('\n'));
  t.regex(note!, /second\.ext/);
  t.regex(note!, /0\.0\.0\.0_3306/);
});

test('two TCP SEs without VIP: the dropped one still gets its cluster', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: first
      hosts: [first.ext]
      ports: [{ number: 3306, protocol: TCP }]
    - name: second
      hosts: [second.ext]
      ports: [{ number: 3306, protocol: TCP }]`,
  );
  t.truthy(c.clusters.find((x) => x.name === 'outbound|3306||second.ext'));
});

test('two TCP SEs with different VIPs on one port do not conflict', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: first
      hosts: [first.ext]
      addresses: [10.0.0.6]
      ports: [{ number: 3306, protocol: TCP }]
    - name: second
      hosts: [second.ext]
      addresses: [10.0.0.7]
      ports: [{ number: 3306, protocol: TCP }]`,
  );
  t.deepEqual(names(c), ['10.0.0.6_3306', '10.0.0.7_3306', 'virtualOutbound']);
  t.false(c.fidelityNotes.some((n) => n.includes('pilot_conflict')));
});

const EXPORT_DOT = `  serviceEntries:
    - name: redis
      namespace: ext
      hosts: [redis]
      addresses: [10.0.0.6/32]
      exportTo: ["."]
      ports: [{ number: 7000, protocol: TCP }]`;

test('exportTo ["."] hides an SE from a pod in another namespace: no listener, no cluster', (t) => {
  const c = proxy('1.30', EXPORT_DOT, 'sleep');
  t.deepEqual(names(c), ['virtualOutbound']);
  t.false(c.clusters.some((x) => x.name.includes('redis')));
});

test('exportTo ["."] keeps the SE visible in its own namespace', (t) => {
  const c = proxy('1.30', EXPORT_DOT, 'other');
  t.deepEqual(names(c), ['10.0.0.6_7000', 'virtualOutbound']);
  t.truthy(c.clusters.find((x) => x.name === 'outbound|7000||redis'));
});

test('exportTo "~" hides the SE from everyone; an explicit namespace list shows it only there', (t) => {
  const se = (exportTo: string) => `  serviceEntries:
    - name: redis
      namespace: ext
      hosts: [redis]
      addresses: [10.0.0.6]
      exportTo: ${exportTo}
      ports: [{ number: 7000, protocol: TCP }]`;
  t.deepEqual(names(proxy('1.30', se('["~"]'), 'other')), ['virtualOutbound']);
  t.deepEqual(names(proxy('1.30', se('["dev-self"]'), 'sleep')), ['10.0.0.6_7000', 'virtualOutbound']);
  t.deepEqual(names(proxy('1.30', se('["dev-self"]'), 'other')), ['virtualOutbound']);
});

// ---------------------------------------------------------------- k8s Service without selector + Endpoints

test('Service without selector + Endpoints: a CLUSTERIP_7000 listener with tcp_proxy to the EDS cluster', (t) => {
  const c = seed('redis-7000-fix-service-endpoints');
  const l = listener(c, '10.233.40.115_7000');
  t.deepEqual(l.filterChains, [{ match: {}, filter: tcpTo('outbound|7000||rediscluster.dev-self.svc.cluster.local') }] as FilterChain[]);
  for (const p of [7001, 7002, 7003]) t.truthy(c.listeners.find((x) => x.name === `10.233.40.115_${p}`));
});

test('Service without selector + Endpoints: EDS cluster with the hand-written endpoint 10.0.0.6:7000', (t) => {
  const c = seed('redis-7000-fix-service-endpoints');
  const cl = c.clusters.find((x) => x.name === 'outbound|7000||rediscluster.dev-self.svc.cluster.local');
  t.is(cl?.type, 'EDS');
  t.deepEqual(cl?.endpoints, [{ address: '10.0.0.6', port: 7000 }]);
  t.deepEqual(c.clusters.find((x) => x.name === 'outbound|7003||rediscluster.dev-self.svc.cluster.local')?.endpoints, [
    { address: '10.0.0.6', port: 7003 },
  ]);
});

test('a selector Service without Endpoints gets an EDS cluster with no endpoints', (t) => {
  const cl = seed('redis-7000-fix-service-endpoints').clusters.find((x) => x.name === 'outbound|7000||web-admin.ops.svc.cluster.local');
  t.is(cl?.type, 'EDS');
  t.deepEqual(cl?.endpoints, []);
});

test('Endpoints ports are matched to Service ports by name, with the Endpoints port number', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: db
      namespace: dev-self
      clusterIP: 10.233.1.1
      ports: [{ name: tcp-a, port: 7000 }, { name: tcp-b, port: 7001 }]
  endpoints:
    - name: db
      namespace: dev-self
      addresses: [10.0.0.6, 10.0.0.7]
      ports: [{ name: tcp-b, port: 9001 }, { name: tcp-a, port: 9000 }]`,
  );
  t.deepEqual(c.clusters.find((x) => x.name === 'outbound|7000||db.dev-self.svc.cluster.local')?.endpoints, [
    { address: '10.0.0.6', port: 9000 },
    { address: '10.0.0.7', port: 9000 },
  ]);
  t.deepEqual(c.clusters.find((x) => x.name === 'outbound|7001||db.dev-self.svc.cluster.local')?.endpoints, [
    { address: '10.0.0.6', port: 9001 },
    { address: '10.0.0.7', port: 9001 },
  ]);
});

test('a UDP Service port gets neither a listener nor a cluster', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: dns
      namespace: dev-self
      clusterIP: 10.233.1.53
      ports: [{ name: dns, port: 53, protocol: UDP }]`,
  );
  t.deepEqual(names(c), ['virtualOutbound']);
  t.false(c.clusters.some((x) => x.name.includes('dns.dev-self')));
});

test('an unnamed (auto) ClusterIP port: VIP listener with a default tcp chain plus an HCM chain on route "host:PORT"', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: api
      namespace: dev-self
      clusterIP: 10.233.1.1
      ports: [{ port: 8080 }]`,
  );
  const l = listener(c, '10.233.1.1_8080');
  t.deepEqual(l.listenerFilters, ['http_inspector']);
  t.deepEqual(l.filterChains, [
    {
      match: HTTP_MATCH,
      filter: {
        kind: 'http_connection_manager',
        statPrefix: 'outbound_10.233.1.1_8080',
        routeConfigName: 'api.dev-self.svc.cluster.local:8080',
      },
    },
  ] as FilterChain[]);
  t.deepEqual(l.defaultFilterChain, { match: {}, filter: tcpTo('outbound|8080||api.dev-self.svc.cluster.local') } as FilterChain);
  const route = c.routes.find((r) => r.name === 'api.dev-self.svc.cluster.local:8080');
  t.deepEqual(
    route?.virtualHosts.map((v) => v.domains),
    [['*']],
    'the sniffed route keeps only this service, domains ["*"], no catch-all',
  );
});

// ---------------------------------------------------------------- clusters and routes

test('modern alt_stat_name ends with ";" on every cluster; legacy has none', (t) => {
  const modern = seed('redis-7000-modern').clusters;
  const legacy = seed('redis-7000').clusters;
  t.deepEqual(
    modern.map((c) => c.altStatName),
    modern.map((c) => `${c.name};`),
  );
  t.deepEqual(
    legacy.map((c) => c.altStatName),
    legacy.map((c) => c.name),
  );
  t.is(modern.find((c) => c.name === 'PassthroughCluster')?.altStatName, 'PassthroughCluster;');
  t.is(legacy.find((c) => c.name === 'BlackHoleCluster')?.altStatName, 'BlackHoleCluster');
});

test('PassthroughCluster is ORIGINAL_DST and BlackHoleCluster is STATIC with no endpoints; connect timeout 10 s', (t) => {
  const cl = seed('redis-7000-modern').clusters;
  t.deepEqual(
    cl.slice(0, 2).map((c) => [c.name, c.type, c.endpoints.length, c.connectTimeoutMs]),
    [
      ['PassthroughCluster', 'ORIGINAL_DST', 0, 10_000],
      ['BlackHoleCluster', 'STATIC', 0, 10_000],
    ],
  );
});

const WEB_ADMIN_DOMAINS = [
  'web-admin.ops.svc.cluster.local',
  'web-admin.ops.svc.cluster.local:7000',
  'web-admin.ops',
  'web-admin.ops:7000',
  'web-admin.ops.svc.cluster',
  'web-admin.ops.svc.cluster:7000',
  'web-admin.ops.svc',
  'web-admin.ops.svc:7000',
  '10.233.0.115',
  '10.233.0.115:7000',
];

test('route "7000" (ALLOW_ANY): the service vhost with Istio\'s domain list, then allow_any', (t) => {
  const c = seed('redis-7000');
  t.deepEqual(
    c.routes.map((r) => r.name),
    ['7000'],
  );
  const [svc, catchAll] = c.routes[0]!.virtualHosts;
  t.is(c.routes[0]!.virtualHosts.length, 2);
  t.is(svc!.name, 'web-admin.ops.svc.cluster.local:7000');
  t.deepEqual(svc!.domains, WEB_ADMIN_DOMAINS);
  t.deepEqual(svc!.action, { kind: 'cluster', cluster: 'outbound|7000||web-admin.ops.svc.cluster.local', timeoutMs: 0 });
  t.deepEqual(catchAll, { name: 'allow_any', domains: ['*'], routeName: 'allow_any', action: { kind: 'passthrough' } });
});

test('route "7000" (REGISTRY_ONLY): the catch-all is block_all with a direct 502', (t) => {
  const vhosts = seed('redis-7000-registry-only').routes.find((r) => r.name === '7000')!.virtualHosts;
  t.deepEqual(
    vhosts.map((v) => v.name),
    ['web-admin.ops.svc.cluster.local:7000', 'block_all'],
  );
  t.deepEqual(vhosts[0]!.domains, WEB_ADMIN_DOMAINS);
  t.deepEqual(vhosts[1], { name: 'block_all', domains: ['*'], routeName: 'block_all', action: { kind: 'direct_response', status: 502 } });
});

test("route domains include the bare short name only for a proxy in the Service's own namespace", (t) => {
  const ownNs = proxy('1.4', HTTP_SERVICE_7000.replace('namespace: ops', 'namespace: ext'), 'other');
  const domains = ownNs.routes.find((r) => r.name === '7000')!.virtualHosts[0]!.domains;
  t.true(domains.includes('web-admin'));
  t.true(domains.includes('web-admin:7000'));
  const otherNs = proxy('1.4', HTTP_SERVICE_7000.replace('namespace: ops', 'namespace: ext'), 'sleep');
  t.false(otherNs.routes.find((r) => r.name === '7000')!.virtualHosts[0]!.domains.includes('web-admin'));
});

test('an HTTP ServiceEntry host gets [host, host:port] (no cluster-local short names)', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: httpbin
      hosts: [httpbin.org]
      ports: [{ number: 80, name: http, protocol: HTTP }]
      resolution: DNS`,
  );
  t.deepEqual(c.routes.find((r) => r.name === '80')!.virtualHosts[0]!.domains, ['httpbin.org', 'httpbin.org:80']);
});

test('isMatchAll: only an empty match is match-all', (t) => {
  t.true(isMatchAll({}));
  t.true(isMatchAll({ prefixRanges: [], serverNames: [], applicationProtocols: [] }));
  t.false(isMatchAll({ destinationPort: 15001 }));
  t.false(isMatchAll({ prefixRanges: ['10.0.0.0/24'] }));
  t.false(isMatchAll({ serverNames: ['a'] }));
  t.false(isMatchAll({ transportProtocol: 'raw_buffer' }));
  t.false(isMatchAll({ applicationProtocols: ['h2c'] }));
});

test('buildListeners directly: TLS SE without VIP gets an SNI chain, tls_inspector and a PassthroughFilterChain default', (t) => {
  const { scenario } = inline(
    '1.30',
    `  serviceEntries:
    - name: api
      hosts: [api.example.com]
      ports: [{ number: 443, name: tls, protocol: TLS }]
      resolution: DNS`,
  );
  const built = buildListeners(visibleServices(scenario.mesh, 'dev-self'), {
    era: 'modern',
    policy: 'ALLOW_ANY',
    podIp: '10.64.192.14',
    namespace: 'dev-self',
  });
  const l = built.listeners.find((x) => x.name === '0.0.0.0_443')!;
  t.deepEqual(l.listenerFilters, ['tls_inspector']);
  t.deepEqual(l.filterChains, [
    { match: { serverNames: ['api.example.com'] }, filter: tcpTo('outbound|443||api.example.com') },
  ] as FilterChain[]);
  t.is(l.defaultFilterChain?.name, 'PassthroughFilterChain');
});

// ---------------------------------------------------------------- regressions against Istio's listener code

// Regression (was a bug in harness/model/listeners.ts addAuto): an auto-protocol (no protocol field) SE whose address is
// a CIDR ignores the CIDR (addAuto only looks at svc.vips) and builds a match-all chain on
// 0.0.0.0_7000, so the SE captures every connection to port 7000 whatever the IP. Istio gives an SE address given as a CIDR a
// chain matching prefix_ranges [cidr], with PassthroughFilterChain as the default chain
// (pilot/pkg/networking/core/listener.go): traffic outside 10.0.0.0/24 falls through to Passthrough/BlackHole.
test('auto SE with a CIDR address matches by prefix_ranges, not match-all', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: redis-net
      hosts: [redis.net]
      addresses: [10.0.0.0/24]
      ports: [{ number: 7000, name: redis }]`,
  );
  const l = listener(c, '0.0.0.0_7000');
  t.is(l.defaultFilterChain?.name, 'PassthroughFilterChain');
  t.true(l.filterChains.every((ch) => ch.match.prefixRanges?.includes('10.0.0.0/24')));
});

// Regression (was a bug in harness/model/listeners.ts addAuto): a headless Service (clusterIP None) with an unnamed
// (auto) port gets 0.0.0.0_PORT with a match-all tcp chain, capturing every :PORT connection.
// Istio builds one listener per endpoint, podIP_PORT, for a headless Service's TCP and auto ports
// (pilot/pkg/networking/core/listener.go). addTcp handled svc.headless; addAuto did not.
test('headless Service with an auto port: one listener per endpoint, no 0.0.0.0 capture', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: db
      namespace: dev-self
      clusterIP: None
      ports: [{ port: 7000 }]
  endpoints:
    - name: db
      namespace: dev-self
      addresses: [10.0.0.6, 10.0.0.7]
      ports: [{ port: 7000 }]`,
  );
  t.deepEqual(names(c), ['10.0.0.6_7000', '10.0.0.7_7000', 'virtualOutbound']);
});

// Regression (was a bug in harness/model/listeners.ts addTcp / meshServices.ts): a TCP SE with resolution NONE, endpoints
// and no addresses is treated like "TCP without a VIP" and captures all :3306 traffic on
// 0.0.0.0_3306. Istio builds one epIP_3306 listener per endpoint of such an SE, so only those
// IPs are matched (pilot/pkg/networking/core/listener.go).
test('SE resolution NONE with endpoints and no addresses: one epIP_PORT listener per endpoint', (t) => {
  const c = proxy(
    '1.30',
    `  serviceEntries:
    - name: mysql
      hosts: [mysql.ext]
      ports: [{ number: 3306, name: tcp, protocol: TCP }]
      resolution: NONE
      endpoints: [{ address: 10.0.0.6 }, { address: 10.0.0.7 }]`,
  );
  t.deepEqual(names(c), ['10.0.0.6_3306', '10.0.0.7_3306', 'virtualOutbound']);
});

// Regression (was a bug in harness/model/listeners.ts addChain): Mongo or MySQL mixed with another
// protocol on the same listener key: the newcomer is dropped (listener.go isConflictWithWellKnownPort). The model merges
// a MySQL SE without VIP into the HTTP Service's 0.0.0.0_3306 listener, and the MySQL chain becomes
// the default (capturing all non-HTTP :3306 traffic) instead of being dropped.
test('MySQL SE joining an HTTP listener on the same port is dropped (well-known-port conflict)', (t) => {
  const c = proxy(
    '1.30',
    `  services:
    - name: web
      namespace: ops
      clusterIP: 10.233.0.115
      ports: [{ name: http-web, port: 3306 }]
  serviceEntries:
    - name: mysql
      hosts: [mysql.ext]
      ports: [{ number: 3306, name: mysql, protocol: MYSQL }]`,
  );
  const l = listener(c, '0.0.0.0_3306');
  t.is(l.defaultFilterChain?.name, 'PassthroughFilterChain');
  t.false(JSON.stringify(l).includes('mysql.ext'));
});

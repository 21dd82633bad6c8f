import test from 'ava';
import { matchFilterChain, needsHttpInspection, selectListener, type ConnectionFacts } from '../../harness/model/filterChain.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import type { FilterChain, Listener, ProxyConfig } from '../../harness/model/types.ts';

function seed(name: string): ProxyConfig {
  const { scenario, istio } = loadScenarioFile(name);
  return buildProxyConfig(scenario, istio, scenario.workloads[0]!);
}

function listener(c: ProxyConfig, name: string): Listener {
  const l = c.listeners.find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}`);
  return l;
}

const raw = (dstIp: string, dstPort: number, alpn: string[] = []): ConnectionFacts => ({
  dstIp,
  dstPort,
  transportProtocol: 'raw_buffer',
  applicationProtocols: alpn,
});

const tcp = (cluster: string) => ({ kind: 'tcp_proxy' as const, cluster, statPrefix: cluster });

function mk(name: string, address: string, port: number, filterChains: FilterChain[], defaultFilterChain?: FilterChain): Listener {
  return {
    name,
    address,
    port,
    bindToPort: false,
    listenerFilters: [],
    filterChains,
    ...(defaultFilterChain ? { defaultFilterChain } : {}),
  };
}

const VIRTUAL: Listener = {
  name: 'virtualOutbound',
  address: '0.0.0.0',
  port: 15001,
  bindToPort: true,
  useOriginalDst: true,
  listenerFilters: [],
  filterChains: [
    { name: 'virtualOutbound-blackhole', match: { destinationPort: 15001 }, filter: tcp('BlackHoleCluster') },
    { name: 'virtualOutbound-catchall-tcp', match: {}, filter: tcp('PassthroughCluster') },
  ],
};
const WILD_7000 = mk('0.0.0.0_7000', '0.0.0.0', 7000, [{ match: {}, filter: tcp('wild') }]);
const EXACT_7000 = mk('10.0.0.6_7000', '10.0.0.6', 7000, [{ match: {}, filter: tcp('exact') }]);

// ---------------------------------------------------------------- selectListener

test('selectListener: the exact IP:port listener beats 0.0.0.0:port', (t) => {
  t.is(selectListener([VIRTUAL, WILD_7000, EXACT_7000], '10.0.0.6', 7000).name, '10.0.0.6_7000');
  t.is(selectListener([VIRTUAL, EXACT_7000, WILD_7000], '10.0.0.6', 7000).name, '10.0.0.6_7000', 'order of the list does not matter');
});

test('selectListener: 0.0.0.0:port takes other IPs on that port', (t) => {
  t.is(selectListener([VIRTUAL, WILD_7000, EXACT_7000], '10.0.0.7', 7000).name, '0.0.0.0_7000');
});

test('selectListener: no listener for the port leaves the connection on virtualOutbound', (t) => {
  t.is(selectListener([VIRTUAL, WILD_7000, EXACT_7000], '10.0.0.6', 7001).name, 'virtualOutbound');
  t.is(selectListener([VIRTUAL], '1.2.3.4', 80).name, 'virtualOutbound');
});

test('selectListener: an exact listener for another IP does not take the connection', (t) => {
  t.is(selectListener([VIRTUAL, EXACT_7000], '10.0.0.7', 7000).name, 'virtualOutbound');
});

test('selectListener: dialling 15001 itself stays on virtualOutbound (bound listeners are not hand-off targets)', (t) => {
  t.is(selectListener([VIRTUAL, WILD_7000], '10.0.0.6', 15001).name, 'virtualOutbound');
});

test('selectListener: without a virtualOutbound listener it throws', (t) => {
  t.throws(() => selectListener([WILD_7000], '10.0.0.6', 7000), { message: /virtualOutbound/ });
});

test('selectListener on seed fix-serviceentry: 10.0.0.6:7000 → 10.0.0.6_7000, 10.0.0.7:7000 → 0.0.0.0_7000, 10.0.0.7:7001 → virtualOutbound', (t) => {
  const c = seed('redis-7000-fix-serviceentry');
  t.is(selectListener(c.listeners, '10.0.0.6', 7000).name, '10.0.0.6_7000');
  t.is(selectListener(c.listeners, '10.0.0.7', 7000).name, '0.0.0.0_7000');
  t.is(selectListener(c.listeners, '10.0.0.7', 7001).name, 'virtualOutbound');
});

// ---------------------------------------------------------------- legacy 0.0.0.0_7000 (seed 000)

test("legacy 0.0.0.0_7000: a connection to the pod's own IP takes the BlackHole guard chain", (t) => {
  const l = listener(seed('redis-7000'), '0.0.0.0_7000');
  const chain = matchFilterChain(l, raw('10.64.192.14', 7000));
  t.deepEqual(chain?.filter, tcp('BlackHoleCluster'));
});

test('legacy 0.0.0.0_7000: anything else, Redis bytes included, goes to the HCM', (t) => {
  const l = listener(seed('redis-7000'), '0.0.0.0_7000');
  for (const ip of ['10.0.0.6', '10.233.0.115', '10.64.192.15']) {
    const chain = matchFilterChain(l, raw(ip, 7000));
    t.is(chain?.filter.kind, 'http_connection_manager', ip);
  }
  t.is(matchFilterChain(l, raw('10.0.0.6', 7000, ['http/1.1']))?.filter.kind, 'http_connection_manager');
  t.false(needsHttpInspection(l), 'the legacy listener never waits for the first bytes');
});

// ---------------------------------------------------------------- modern 0.0.0.0_7000

test('modern 0.0.0.0_7000: ALPN http/1.1 → HCM', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  t.true(needsHttpInspection(l));
  const chain = matchFilterChain(l, raw('10.0.0.6', 7000, ['http/1.1']));
  t.deepEqual(chain?.filter, { kind: 'http_connection_manager', statPrefix: 'outbound_0.0.0.0_7000', routeConfigName: '7000' });
});

test('modern 0.0.0.0_7000: ALPN h2c → HCM; http/1.0 does not match', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  t.is(matchFilterChain(l, raw('10.0.0.6', 7000, ['h2c']))?.filter.kind, 'http_connection_manager');
  t.is(matchFilterChain(l, raw('10.0.0.6', 7000, ['http/1.0']))?.name, 'PassthroughFilterChain');
});

test('modern 0.0.0.0_7000: no ALPN (keys *) → default PassthroughFilterChain → PassthroughCluster', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  const chain = matchFilterChain(l, raw('10.0.0.6', 7000));
  t.is(chain?.name, 'PassthroughFilterChain');
  t.deepEqual(chain?.filter, tcp('PassthroughCluster'));
});

test('modern REGISTRY_ONLY 0.0.0.0_7000: no ALPN → PassthroughFilterChain → BlackHoleCluster', (t) => {
  const l = listener(seed('redis-7000-registry-only'), '0.0.0.0_7000');
  const chain = matchFilterChain(l, raw('10.0.0.6', 7000));
  t.is(chain?.name, 'PassthroughFilterChain');
  t.deepEqual(chain?.filter, tcp('BlackHoleCluster'));
});

test('modern 0.0.0.0_7000: TLS transport with ALPN http/1.1 does not reach the HCM (transport is checked first)', (t) => {
  const l = listener(seed('redis-7000-modern'), '0.0.0.0_7000');
  const chain = matchFilterChain(l, { dstIp: '10.0.0.6', dstPort: 7000, transportProtocol: 'tls', applicationProtocols: ['http/1.1'] });
  t.is(chain?.name, 'PassthroughFilterChain');
});

// ---------------------------------------------------------------- SNI, prefixes, ports

const SNI_443 = mk(
  '0.0.0.0_443',
  '0.0.0.0',
  443,
  [
    { match: { serverNames: ['api.example.com'] }, filter: tcp('outbound|443||api.example.com') },
    { match: { serverNames: ['db.example.com'] }, filter: tcp('outbound|443||db.example.com') },
  ],
  { name: 'PassthroughFilterChain', match: {}, filter: tcp('PassthroughCluster') },
);
const tls = (serverName?: string): ConnectionFacts => ({
  dstIp: '93.184.215.14',
  dstPort: 443,
  transportProtocol: 'tls',
  ...(serverName ? { serverName } : {}),
  applicationProtocols: [],
});

test('an SNI chain matches only its own server name', (t) => {
  t.deepEqual(matchFilterChain(SNI_443, tls('api.example.com'))?.filter, tcp('outbound|443||api.example.com'));
  t.deepEqual(matchFilterChain(SNI_443, tls('db.example.com'))?.filter, tcp('outbound|443||db.example.com'));
});

test('another SNI, or none, falls to the default chain', (t) => {
  t.is(matchFilterChain(SNI_443, tls('other.example.com'))?.name, 'PassthroughFilterChain');
  t.is(matchFilterChain(SNI_443, tls())?.name, 'PassthroughFilterChain');
  t.is(matchFilterChain(SNI_443, tls('api.example.com.evil'))?.name, 'PassthroughFilterChain');
});

test('server names are narrowed before transport: a chain without server_names still catches other SNIs', (t) => {
  const l = mk('0.0.0.0_443', '0.0.0.0', 443, [
    { match: { serverNames: ['api.example.com'] }, filter: tcp('sni') },
    { match: { transportProtocol: 'tls' }, filter: tcp('any-tls') },
  ]);
  t.deepEqual(matchFilterChain(l, tls('api.example.com'))?.filter, tcp('sni'));
  t.deepEqual(matchFilterChain(l, tls('other.example.com'))?.filter, tcp('any-tls'));
});

const PREFIXES = mk(
  '0.0.0.0_7000',
  '0.0.0.0',
  7000,
  [
    { match: { prefixRanges: ['10.0.0.0/8'] }, filter: tcp('wide') },
    { match: { prefixRanges: ['10.0.0.0/24'] }, filter: tcp('narrow') },
    { match: { prefixRanges: ['10.0.0.6/32'] }, filter: tcp('host') },
    { match: { prefixRanges: ['192.168.0.0/16', '10.0.1.0/24'] }, filter: tcp('multi') },
  ],
  { name: 'PassthroughFilterChain', match: {}, filter: tcp('PassthroughCluster') },
);

test('the longest matching prefix wins among prefix_ranges', (t) => {
  t.is(matchFilterChain(PREFIXES, raw('10.0.0.6', 7000))?.filter, PREFIXES.filterChains[2]!.filter);
  t.deepEqual(matchFilterChain(PREFIXES, raw('10.0.0.7', 7000))?.filter, tcp('narrow'));
  t.deepEqual(matchFilterChain(PREFIXES, raw('10.9.9.9', 7000))?.filter, tcp('wide'));
});

test('a chain with several prefix_ranges is judged by its longest matching range', (t) => {
  // 10.0.1.5 is in 10.0.0.0/8 (wide) and in multi's 10.0.1.0/24: /24 beats /8.
  t.deepEqual(matchFilterChain(PREFIXES, raw('10.0.1.5', 7000))?.filter, tcp('multi'));
  t.deepEqual(matchFilterChain(PREFIXES, raw('192.168.3.4', 7000))?.filter, tcp('multi'));
});

test('an IP outside every prefix_range goes to the default chain', (t) => {
  t.is(matchFilterChain(PREFIXES, raw('172.16.0.1', 7000))?.name, 'PassthroughFilterChain');
});

test('an IP outside every prefix_range takes a chain without prefix_ranges when there is one', (t) => {
  const l = mk('0.0.0.0_7000', '0.0.0.0', 7000, [
    { match: { prefixRanges: ['10.0.0.0/24'] }, filter: tcp('cidr') },
    { match: { transportProtocol: 'raw_buffer' }, filter: tcp('rest') },
  ]);
  t.deepEqual(matchFilterChain(l, raw('172.16.0.1', 7000))?.filter, tcp('rest'));
  t.deepEqual(matchFilterChain(l, raw('10.0.0.1', 7000))?.filter, tcp('cidr'));
});

test('a listener with no matching chain and no default gives undefined (filter_chain_not_found)', (t) => {
  const l = mk('0.0.0.0_7000', '0.0.0.0', 7000, [{ match: { prefixRanges: ['10.0.0.0/24'] }, filter: tcp('cidr') }]);
  t.is(matchFilterChain(l, raw('172.16.0.1', 7000)), undefined);
});

test('virtualOutbound: destination_port 15001 → BlackHole loop guard; any other port → catch-all', (t) => {
  const c = seed('redis-7000-modern');
  const vo = listener(c, 'virtualOutbound');
  const guard = matchFilterChain(vo, raw('10.64.192.14', 15001));
  t.is(guard?.name, 'virtualOutbound-blackhole');
  t.deepEqual(guard?.filter, tcp('BlackHoleCluster'));
  const other = matchFilterChain(vo, raw('10.0.0.6', 7001));
  t.is(other?.name, 'virtualOutbound-catchall-tcp');
  t.deepEqual(other?.filter, tcp('PassthroughCluster'));
});

test('destination_port is matched before the destination IP', (t) => {
  const l = mk('0.0.0.0_7000', '0.0.0.0', 7000, [
    { match: { prefixRanges: ['10.0.0.6/32'] }, filter: tcp('by-ip') },
    { match: { destinationPort: 7000 }, filter: tcp('by-port') },
  ]);
  t.deepEqual(matchFilterChain(l, raw('10.0.0.6', 7000))?.filter, tcp('by-port'));
});

// Regression (was a bug in harness/model/filterChain.ts, SNI step): Envoy's filter_chain_match.server_names accepts
// wildcard entries ("*.example.com" matches "api.example.com"), and Istio puts ServiceEntry hosts,
// which may be wildcards, into server_names. The model compares names with includes(), so a TLS
// ServiceEntry for "*.example.com" never matches and every such connection falls to
// PassthroughFilterChain (BlackHole under REGISTRY_ONLY).
test('a wildcard server name matches a subdomain SNI', (t) => {
  const l = mk('0.0.0.0_443', '0.0.0.0', 443, [{ match: { serverNames: ['*.example.com'] }, filter: tcp('outbound|443||*.example.com') }], {
    name: 'PassthroughFilterChain',
    match: {},
    filter: tcp('BlackHoleCluster'),
  });
  t.deepEqual(matchFilterChain(l, tls('api.example.com'))?.filter, tcp('outbound|443||*.example.com'));
});

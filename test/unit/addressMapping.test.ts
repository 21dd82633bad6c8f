/** The scenario with kind's addresses: the effective scenario, substituteAddresses and unmappedAddresses. */
import test from 'ava';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import {
  effectiveScenario,
  type AddressMapping,
  substituteAddresses,
  unmappedAddresses,
  type AddressMap,
} from '../../harness/scenario/addressMapping.ts';
import { blockOf } from '../helpers/probes.ts';
import { scenarioManifests } from '../../harness/kind/manifests.ts';
import { KIND_ADDRESSES } from '../helpers/kindAddresses.ts';
import { OPTS, load, find, modern } from '../helpers/kindManifests.ts';

test('the effective scenario: probes, expectations, pods and Services all carry the real addresses', (t) => {
  const s = effectiveScenario(loadScenarioFile('redis-7000-modern').scenario, KIND_ADDRESSES);
  t.is(s.workloads[0]!.ip, '10.244.0.7');
  t.is(s.externalServers[0]!.addresses[0], '172.18.0.5');
  t.true(s.probes.every((p) => JSON.stringify(p).includes('172.18.0.5') && !JSON.stringify(p).includes('10.0.0.6')));
  const mysql = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
  const svc: AddressMapping = { what: 'Service', name: 'demo1/mysql-server', scenario: '10.68.228.107', real: '10.96.12.34' };
  t.is(effectiveScenario(mysql, [svc]).mesh.services.find((v) => v.name === 'mysql-server')!.clusterIP, '10.96.12.34');
  t.is(effectiveScenario(mysql, []), mysql, 'no mappings: the scenario itself (the netns lab)');
});

test('substituteAddresses on redis-7000-modern rewrites probe hosts, upstreams and server addresses, nothing else', (t) => {
  const s = load('redis-7000-modern');
  const before = structuredClone(s);
  const out = substituteAddresses(s, new Map([['10.0.0.6', '172.18.0.5']]));
  const expected = structuredClone(s);
  expected.externalServers[0]!.addresses = ['172.18.0.5'];
  blockOf(expected.probes[0]!, 'tcp').host = '172.18.0.5';
  expected.probes[0]!.expect.conntrack!.upstream = '172.18.0.5:7000';
  blockOf(expected.probes[1]!, 'tcp').host = '172.18.0.5';
  expected.probes[1]!.expect.conntrack!.upstream = '172.18.0.5:7001';
  blockOf(expected.probes[2]!, 'redis').host = '172.18.0.5';
  t.deepEqual(out, expected);
  t.deepEqual(s, before, 'the input is not modified');
  t.is(out.workloads[0]!.ip, '10.64.192.14');
  t.is(out.mesh.services[0]!.clusterIP, '10.233.0.115');
});

test('substituteAddresses on registry-only-fix-serviceentry: two servers, URL hosts are names and stay', (t) => {
  const s = load('registry-only-fix-serviceentry');
  const out = substituteAddresses(
    s,
    new Map([
      ['10.20.0.80', '172.18.0.5'],
      ['10.20.0.10', '172.18.0.6'],
    ]),
  );
  const expected = structuredClone(s);
  expected.externalServers[0]!.addresses = ['172.18.0.5'];
  expected.externalServers[1]!.addresses = ['172.18.0.6'];
  expected.probes[0]!.expect.conntrack!.upstream = '172.18.0.5:80';
  expected.probes[1]!.expect.conntrack!.upstream = '172.18.0.6:443';
  t.deepEqual(out, expected);
  t.is(blockOf(out.probes[0]!, 'http').url, 'http://httpbin.org/headers');
});

test('substituteAddresses: ranges become /32s, VIPs keep /32, Endpoints, IP URLs, rule lines and stat names follow', (t) => {
  const map: AddressMap = new Map([['10.0.0.6', '172.18.0.5']]);
  const ex = substituteAddresses(load('redis-7000-fix-exclude-ip-ranges'), map);
  t.is(ex.workloads[0]!.annotations['traffic.sidecar.istio.io/excludeOutboundIPRanges'], '172.18.0.5/32');
  t.deepEqual(ex.assertions[0]!.iptablesSave!.contains, [
    '-A istio_OUTPUT -d 172.18.0.5/32 -j RETURN',
    '-A istio_OUTPUT -j istio_REDIRECT',
  ]);
  t.is(
    find(scenarioManifests(ex, OPTS), 'Deployment', 'sleep').spec?.template.metadata?.annotations?.[
      'traffic.sidecar.istio.io/excludeOutboundIPRanges'
    ],
    '172.18.0.5/32',
  );

  const se = substituteAddresses(load('redis-7000-fix-serviceentry'), map);
  t.deepEqual(se.mesh.serviceEntries[0]!.addresses, ['172.18.0.5/32']);
  t.true('listener.172.18.0.5_7000.downstream_cx_total' in se.probes[0]!.expect.stats!);
  t.false(Object.keys(se.probes[0]!.expect.stats!).some((k) => k.includes('10.0.0.6')));

  const eps = substituteAddresses(load('redis-7000-fix-service-endpoints'), map);
  t.deepEqual(eps.mesh.endpoints[0]!.addresses, ['172.18.0.5']);
  t.is(blockOf(eps.probes[0]!, 'tcp').host, '10.233.40.115', 'ClusterIPs are not lab servers');

  // Include ranges that hold no server (pod and service CIDRs) are left alone.
  const inc = substituteAddresses(load('registry-only-fix-include-ip-ranges'), new Map([['10.20.0.80', '172.18.0.5']]));
  t.is(inc.workloads[0]!.annotations['traffic.sidecar.istio.io/includeOutboundIPRanges'], '10.64.192.0/24,10.233.0.0/18');

  const url = load('virtualservice-timeout');
  blockOf(url.probes[0]!, 'http').url = 'http://10.20.0.80:8080/delay/5';
  blockOf(url.probes[1]!, 'http').url = 'http://10.20.0.8/x';
  const u = substituteAddresses(url, new Map([['10.20.0.80', '172.18.0.9']]));
  t.is(blockOf(u.probes[0]!, 'http').url, 'http://172.18.0.9:8080/delay/5');
  t.is(blockOf(u.probes[1]!, 'http').url, 'http://10.20.0.8/x', '10.20.0.8 is not 10.20.0.80');
});

test('unmappedAddresses: servers without a container, through IPs or hostnames, and addresses of nothing', (t) => {
  t.deepEqual(unmappedAddresses(load('redis-7000-modern'), new Map([['10.0.0.6', '172.18.0.5']])), []);
  t.deepEqual(unmappedAddresses(load('redis-7000-modern'), new Map()), ['10.0.0.6']);
  // www.163.com is a hostname of the netease server, whose address has no container.
  t.deepEqual(unmappedAddresses(load('https-serviceentry-sni'), new Map([['10.20.0.10', '172.18.0.5']])), ['10.20.0.163']);
  // Pod IPs (the in-mesh server's upstream) and ClusterIPs are not reported.
  t.deepEqual(unmappedAddresses(load('mysql-3306-foreign-serviceentry'), new Map([['10.10.13.110', '172.18.0.5']])), []);
  t.deepEqual(unmappedAddresses(load('redis-7000-fix-service-endpoints'), new Map()), ['10.0.0.6']);
  const nowhere = load('redis-7000-modern');
  blockOf(nowhere.probes[0]!, 'tcp').host = '10.9.9.9';
  t.deepEqual(unmappedAddresses(nowhere, new Map([['10.0.0.6', '172.18.0.5']])), ['10.9.9.9']);
  for (const { scenario } of modern) {
    const full: AddressMap = new Map(scenario.externalServers.map((srv, n) => [srv.addresses[0]!, `172.18.0.${10 + n}`]));
    t.deepEqual(unmappedAddresses(scenario, full), [], scenario.name);
  }
});

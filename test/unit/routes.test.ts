/** Virtual-host selection and VirtualService-shaped routes, with plain data. */
import test from 'ava';
import { durationMs, selectVirtualHost, vsHostMatches } from '../../harness/model/routes.ts';
import { parseScenario } from '../../harness/scenario/load.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import type { RouteConfig } from '../../harness/model/types.ts';

const route: RouteConfig = {
  name: '80',
  virtualHosts: [
    {
      name: 'httpbin.org:80',
      domains: ['httpbin.org', 'httpbin.org:80'],
      routeName: 'default',
      action: { kind: 'cluster', cluster: 'outbound|80||httpbin.org', timeoutMs: 0 },
    },
    { name: 'block_all', domains: ['*'], routeName: 'block_all', action: { kind: 'direct_response', status: 502 } },
  ],
};

test('Host picks the virtual host by exact domain, case-insensitively', (t) => {
  t.is(selectVirtualHost(route, 'HTTPBIN.org')?.name, 'httpbin.org:80');
  t.is(selectVirtualHost(route, 'httpbin.org:80')?.name, 'httpbin.org:80');
});

test('a Host with another port still matches (IgnorePortInHostMatching)', (t) => {
  t.is(selectVirtualHost(route, 'httpbin.org:8080')?.name, 'httpbin.org:80');
});

test('an unknown Host falls to the catch-all', (t) => {
  t.is(selectVirtualHost(route, 'example.com')?.name, 'block_all');
  t.is(selectVirtualHost(route, '')?.name, 'block_all');
});

test('no route configuration: no virtual host', (t) => {
  t.is(selectVirtualHost(undefined, 'httpbin.org'), undefined);
});

test('durations as Istio writes them', (t) => {
  t.is(durationMs('3s'), 3000);
  t.is(durationMs('500ms'), 500);
  t.is(durationMs('1.5s'), 1500);
  t.is(durationMs('1m'), 60000);
  t.throws(() => durationMs('3 seconds'));
});

test('VirtualService hosts match full names and short names in the VS namespace', (t) => {
  t.true(vsHostMatches('httpbin.org', 'default', 'httpbin.org'));
  t.true(vsHostMatches('reviews', 'bookinfo', 'reviews.bookinfo.svc.cluster.local'));
  t.false(vsHostMatches('reviews', 'other', 'reviews.bookinfo.svc.cluster.local'));
});

const scenario = (vsExportTo: string) =>
  parseScenario(
    `name: inline
description: d
istio: "1.30"
workloads: [{ name: sleep, namespace: default, ip: 10.64.192.14 }]
mesh:
  serviceEntries:
    - { name: httpbin, namespace: default, hosts: [httpbin.org], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS }
  virtualServices:
    - name: httpbin
      namespace: web
      exportTo: ${vsExportTo}
      hosts: [httpbin.org]
      http: [{ timeout: 3s, route: [{ destination: { host: httpbin.org } }] }]
probes: [{ name: p, from: sleep, http: { url: "http://httpbin.org/" }, expect: {} }]
`,
    'inline.yaml',
  );

test('a VirtualService timeout lands on the route of its host, with the decorator Istio sends upstream', (t) => {
  const { scenario: s, istio } = scenario('["*"]');
  const config = buildProxyConfig(s, istio, s.workloads[0]!);
  const vh = config.routes.find((r) => r.name === '80')!.virtualHosts[0]!;
  t.deepEqual(vh.action, { kind: 'cluster', cluster: 'outbound|80||httpbin.org', timeoutMs: 3000 });
  t.is(vh.decorator, 'httpbin.org:80/*');
  t.is(vh.virtualService, 'httpbin.web');
});

test("a VirtualService exported only to its own namespace does not shape other pods' routes", (t) => {
  const { scenario: s, istio } = scenario('["."]');
  const vh = buildProxyConfig(s, istio, s.workloads[0]!).routes.find((r) => r.name === '80')!.virtualHosts[0]!;
  t.deepEqual(vh.action, { kind: 'cluster', cluster: 'outbound|80||httpbin.org', timeoutMs: 0 });
});

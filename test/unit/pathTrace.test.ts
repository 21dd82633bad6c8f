/** Path traces for the catalog's scenarios: the real generator, the real proxy config, the probes they run. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { injectionConfig, renderRestore } from '../../harness/model/iptables.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { tracePath, type PathTrace, type TraceProbe } from '../../harness/model/pathTrace.ts';
import { describeMatch, pathHops } from '../../harness/model/pathDrawing.ts';
import type { ProxyConfig } from '../../harness/model/types.ts';
import { SCENARIO_DIR, parseScenario, type LoadedScenario } from '../../harness/scenario/load.ts';

interface Pod {
  config: ProxyConfig;
  restore: string | undefined;
}

/** The scenario file's text, optionally edited (e.g. another Istio version) before parsing. */
function load(name: string, edit: (text: string) => string = (x) => x): LoadedScenario {
  const file = join(SCENARIO_DIR, `${name}.yaml`);
  return parseScenario(edit(readFileSync(file, 'utf8')), file);
}

/** The first workload as the lab sets it up: istio-init's restore text and the sidecar's config. */
function pod({ scenario, istio }: LoadedScenario): Pod {
  const w = scenario.workloads[0]!;
  const restore = w.sidecar ? renderRestore(injectionConfig(w.annotations, istio.era, istio.minor)) : undefined;
  return { config: buildProxyConfig(scenario, istio, w), restore };
}

const REDIS = (host: string, port: number): TraceProbe => ({ host, port, sendsFirst: true, firstBytes: 'keys *\n' });
const CURL = (scheme: 'http' | 'https', host: string, port: number): TraceProbe => ({ host, port, scheme, sendsFirst: true });

function trace(name: string, probe: TraceProbe, resolvedIp: string, edit?: (text: string) => string): PathTrace {
  return tracePath({ ...pod(load(name, edit)), probe, resolvedIp });
}

const kinds = (p: PathTrace) => pathHops(p).map((h) => h.kind);
const hop = (p: PathTrace, kind: string) => pathHops(p).find((h) => h.kind === kind);
const label = (p: PathTrace, kind: string) => hop(p, kind)?.label;

test('redis-7000: 10.0.0.6:7000 with "keys *" is redirected, lands on 0.0.0.0_7000\'s match-all HCM, and gets the 400', (t) => {
  const p = trace('redis-7000', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.deepEqual(kinds(p), ['client', 'iptables', 'sidecar', 'listener', 'filter-chain']);
  t.is(label(p, 'client'), '10.64.192.14 → 10.0.0.6:7000');
  t.is(label(p, 'iptables'), 'istio_REDIRECT → 15001');
  t.is(
    hop(p, 'iptables')?.detail,
    'nat OUTPUT for tcp 10.64.192.14 → 10.0.0.6:7000, uid 1000 gid 1000, -o eth0: OUTPUT: -A OUTPUT -p tcp -j istio_OUTPUT → ' +
      'istio_OUTPUT: -A istio_OUTPUT -j istio_REDIRECT → istio_REDIRECT: -A istio_REDIRECT -p tcp -j REDIRECT --to-ports 15001; redirected to 15001',
  );
  t.is(label(p, 'sidecar'), '15001 virtualOutbound');
  t.is(label(p, 'listener'), '0.0.0.0_7000');
  t.regex(hop(p, 'listener')?.detail ?? '', /lookup: 0\.0\.0\.0:7000/);
  t.is(label(p, 'filter-chain'), 'ALL');
  t.regex(hop(p, 'filter-chain')?.detail ?? '', /http_connection_manager, route 7000/);
  t.true(p.captured);
  t.is(p.outcome, 'local-reply');
  t.true(p.notes.some((n) => /non-HTTP bytes .* 400 Bad Request .*legacy/.test(n)));
});

test("redis-7000: 7001 has no listener, virtualOutbound's catch-all passes it to 10.0.0.6:7001", (t) => {
  const p = trace('redis-7000', REDIS('10.0.0.6', 7001), '10.0.0.6');
  t.is(label(p, 'listener'), 'virtualOutbound');
  t.regex(hop(p, 'listener')?.detail ?? '', /lookup: none/);
  t.is(label(p, 'filter-chain'), 'virtualOutbound-catchall-tcp');
  t.is(label(p, 'cluster'), 'PassthroughCluster');
  t.regex(hop(p, 'cluster')?.detail ?? '', /^ORIGINAL_DST/);
  t.is(label(p, 'destination'), '10.0.0.6:7001');
  t.is(p.outcome, 'forwarded');
});

test('redis-7000-fix-exclude-ip-ranges: the -d 10.0.0.0/24 RETURN decides, the connection goes direct', (t) => {
  const p = trace('redis-7000-fix-exclude-ip-ranges', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.deepEqual(kinds(p), ['client', 'iptables', 'destination']);
  t.is(label(p, 'iptables'), 'istio_OUTPUT -d 10.0.0.0/24 -j RETURN');
  t.false(p.captured);
  t.is(p.outcome, 'direct');
  t.is(label(p, 'destination'), '10.0.0.6:7000');
});

test('redis-7000-registry-only: non-HTTP bytes fall to PassthroughFilterChain, which is the BlackHoleCluster: closed', (t) => {
  const p = trace('redis-7000-registry-only', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.is(label(p, 'listener'), '0.0.0.0_7000');
  t.is(label(p, 'filter-chain'), 'PassthroughFilterChain');
  t.is(label(p, 'cluster'), 'BlackHoleCluster');
  t.is(hop(p, 'destination'), undefined);
  t.is(p.outcome, 'closed');
  t.true(p.notes.some((n) => /without sending a byte/.test(n)));
  const virtual = trace('redis-7000-registry-only', REDIS('10.0.0.6', 7001), '10.0.0.6');
  t.is(label(virtual, 'filter-chain'), 'virtualOutbound-catchall-tcp');
  t.is(virtual.outcome, 'closed');
});

test('redis-7000-modern: http_inspector sees "keys *", PassthroughFilterChain forwards to Redis', (t) => {
  const p = trace('redis-7000-modern', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.is(label(p, 'filter-chain'), 'PassthroughFilterChain');
  t.is(label(p, 'destination'), '10.0.0.6:7000');
  t.is(p.outcome, 'forwarded');
  const http = trace(
    'redis-7000-modern',
    { host: '10.0.0.6', port: 7000, sendsFirst: true, firstBytes: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' },
    '10.0.0.6',
  );
  t.is(label(http, 'filter-chain'), 'App: HTTP', 'an HTTP/1.1 request line picks the HCM chain');
});

test('mysql-http-port-hang: http_inspector waits for a client that waits for the greeting', (t) => {
  const p = trace('mysql-http-port-hang', { host: '10.10.13.110', port: 3306, sendsFirst: false }, '10.10.13.110');
  t.deepEqual(kinds(p), ['client', 'iptables', 'sidecar', 'listener']);
  t.is(label(p, 'listener'), '0.0.0.0_3306');
  t.is(p.outcome, 'waits');
  t.true(p.notes.some((n) => /http_inspector on 0\.0\.0\.0_3306 waits for the client's first bytes/.test(n)));
  const fixed = trace('mysql-http-port-fix-port-name', { host: '10.10.13.110', port: 3306, sendsFirst: false }, '10.10.13.110');
  t.not(fixed.outcome, 'waits', 'with a tcp- port name there is no inspector to wait');
});

test('https-serviceentry-sni: www.163.com falls to PassthroughFilterChain, www.baidu.com takes its SNI chain', (t) => {
  const other = trace('https-serviceentry-sni', CURL('https', 'www.163.com', 443), '10.20.0.163');
  t.is(label(other, 'client'), '10.64.192.14 → www.163.com:443');
  t.is(label(other, 'filter-chain'), 'PassthroughFilterChain');
  t.is(label(other, 'destination'), '10.20.0.163:443');
  t.true(other.notes.some((n) => /SNI\) is the URL host www\.163\.com/.test(n)));
  const baidu = trace('https-serviceentry-sni', CURL('https', 'www.baidu.com', 443), '10.20.0.10');
  t.is(label(baidu, 'filter-chain'), 'SNI: www.baidu.com');
  t.is(label(baidu, 'cluster'), 'outbound|443||www.baidu.com');
  t.regex(hop(baidu, 'cluster')?.detail ?? '', /^STRICT_DNS/);
  t.is(label(baidu, 'destination'), 'www.baidu.com:443');
  t.is(baidu.outcome, 'forwarded');
});

test('registry-only-fix-include-ip-ranges: external traffic matches no include rule and is not captured', (t) => {
  // Istio 1.5 (legacy) closes the include list with "-j RETURN", so that rule is what decides.
  const legacy = trace('registry-only-fix-include-ip-ranges', CURL('http', 'httpbin.org', 80), '10.20.0.80');
  t.false(legacy.captured);
  t.is(legacy.outcome, 'direct');
  t.is(label(legacy, 'iptables'), 'ISTIO_OUTPUT -j RETURN');
  // The 1.25+ shape has no trailing RETURN: the packet falls off ISTIO_OUTPUT to OUTPUT's policy.
  const modern = trace('registry-only-fix-include-ip-ranges', CURL('http', 'httpbin.org', 80), '10.20.0.80', (s) =>
    s.replace('istio: "1.5"', 'istio: "1.30"'),
  );
  t.false(modern.captured);
  t.is(label(modern, 'iptables'), 'no ISTIO_OUTPUT rule matched → OUTPUT policy ACCEPT');
  t.is(hop(modern, 'iptables')?.detail?.includes('OUTPUT: -A OUTPUT -j ISTIO_OUTPUT; not redirected'), true);
  // The Service CIDR is still captured.
  const vip = trace('registry-only-fix-include-ip-ranges', CURL('http', 'istio-ingressgateway.istio-system', 80), '10.233.0.80');
  t.true(vip.captured);
});

test('registry-only-http: HTTP to httpbin.org matches no virtual host, block_all answers 502', (t) => {
  const p = trace('registry-only-http', CURL('http', 'httpbin.org', 80), '10.20.0.80');
  t.deepEqual(kinds(p), ['client', 'iptables', 'sidecar', 'listener', 'filter-chain', 'route']);
  t.is(label(p, 'listener'), '0.0.0.0_80');
  t.is(label(p, 'route'), '80: block_all → 502');
  t.regex(hop(p, 'route')?.detail ?? '', /Host httpbin\.org .* catch-all .* direct_response 502/);
  t.is(p.outcome, 'local-reply');
});

test('the Host header, not the dialled name, picks the virtual host', (t) => {
  const p = trace(
    'registry-only-http',
    { ...CURL('http', 'httpbin.org', 80), hostHeader: 'istio-ingressgateway.istio-system:80' },
    '10.20.0.80',
  );
  t.is(label(p, 'route'), '80: istio-ingressgateway.istio-system.svc.cluster.local:80');
  t.is(label(p, 'cluster'), 'outbound|80||istio-ingressgateway.istio-system.svc.cluster.local');
});

test('virtualservice-timeout: the route names the VirtualService and its timeout', (t) => {
  const p = trace('virtualservice-timeout', CURL('http', 'httpbin.org', 80), '10.20.0.80');
  t.is(label(p, 'cluster'), 'outbound|80||httpbin.org');
  t.regex(hop(p, 'route')?.detail ?? '', /timeout 3000 ms \(VirtualService httpbin-ext\.default\)/);
  t.is(label(p, 'destination'), 'httpbin.org:80');
});

test('redis-7000-fix-service-endpoints: the ClusterIP has its own listener and the EDS cluster sends it to 10.0.0.6', (t) => {
  const p = trace('redis-7000-fix-service-endpoints', REDIS('10.233.40.115', 7000), '10.233.40.115');
  t.is(label(p, 'listener'), '10.233.40.115_7000');
  t.regex(hop(p, 'listener')?.detail ?? '', /lookup: exact IP:port/);
  t.is(label(p, 'filter-chain'), 'ALL');
  t.is(label(p, 'cluster'), 'outbound|7000||rediscluster.dev-self.svc.cluster.local');
  t.regex(hop(p, 'cluster')?.detail ?? '', /^EDS/);
  t.is(label(p, 'destination'), '10.0.0.6:7000');
  t.is(p.outcome, 'forwarded');
  const directIp = trace('redis-7000-fix-service-endpoints', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.is(directIp.outcome, 'local-reply', 'dialling the IP still hits 0.0.0.0_7000');
});

test('no sidecar: one client hop, one destination hop, direct', (t) => {
  const { config } = pod(load('redis-7000'));
  const p = tracePath({ config, restore: undefined, probe: REDIS('10.0.0.6', 7000), resolvedIp: '10.0.0.6' });
  t.deepEqual(kinds(p), ['client', 'destination']);
  t.false(p.captured);
  t.is(p.outcome, 'direct');
});

test('127.0.0.1 leaves through lo and RETURNs', (t) => {
  const p = trace('redis-7000', REDIS('127.0.0.1', 6379), '127.0.0.1');
  t.is(label(p, 'iptables'), 'istio_OUTPUT -d 127.0.0.1/32 -j RETURN');
  t.regex(hop(p, 'iptables')?.detail ?? '', /tcp 127\.0\.0\.1 → 127\.0\.0\.1:6379, .* -o lo/);
  t.is(p.outcome, 'direct');
});

test("the pod's own IP leaves through lo and is hairpinned to the inbound side (15006)", (t) => {
  const p = trace('redis-7000', REDIS('10.64.192.14', 8080), '10.64.192.14');
  t.is(label(p, 'iptables'), 'istio_IN_REDIRECT → 15006');
  t.is(label(p, 'sidecar'), '15006 virtualInbound');
  t.is(label(p, 'destination'), '127.0.0.1:8080');
  t.true(p.captured);
});

test('a legacy HCM waits for a request when the client waits for the server', (t) => {
  const p = trace('redis-7000', { host: '10.0.0.6', port: 7000, sendsFirst: false }, '10.0.0.6');
  t.is(label(p, 'filter-chain'), 'ALL');
  t.is(p.outcome, 'waits');
});

test('the trace is data: named matches like pilot/pkg/simulation Result, and the one-line text is built from them', (t) => {
  const legacy = trace('redis-7000', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.deepEqual(
    legacy.match,
    { listener: '0.0.0.0_7000', error: 'protocol error' },
    'the unnamed HCM chain has no name; TCP into an HCM is a protocol error',
  );
  t.is(legacy.filterChainMatch, 'ALL');
  t.is(describeMatch(legacy.match), 'listener 0.0.0.0_7000 › error protocol error');
  const http = trace('registry-only-http', CURL('http', 'httpbin.org', 80), '10.20.0.80');
  t.deepEqual(http.match, { listener: '0.0.0.0_80', routeConfig: '80', virtualHost: 'block_all', route: 'block_all' });
  t.is(http.directResponse, 502);
  const sni = trace('https-serviceentry-sni', CURL('https', 'www.baidu.com', 443), '10.20.0.10');
  t.deepEqual(sni.match, { listener: '0.0.0.0_443', cluster: 'outbound|443||www.baidu.com' });
  const direct = trace('redis-7000-fix-exclude-ip-ranges', REDIS('10.0.0.6', 7000), '10.0.0.6');
  t.deepEqual(direct.match, {});
  t.is(describeMatch(direct.match), 'no listener (not captured)');
});

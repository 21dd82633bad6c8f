import test from 'ava';
import { kubernetesPortProtocol, listenerClass, serviceEntryPortProtocol } from '../../harness/model/protocol.ts';
import type { Protocol } from '../../harness/model/types.ts';
import { visibleServices } from '../../harness/model/meshServices.ts';
import { parseScenario } from '../../harness/scenario/load.ts';

const k8s = (name: string, port = 7000, extra: { protocol?: string; appProtocol?: string } = {}): Protocol =>
  kubernetesPortProtocol({
    name,
    port,
    protocol: extra.protocol ?? 'TCP',
    ...(extra.appProtocol !== undefined ? { appProtocol: extra.appProtocol } : {}),
  });

test('port name prefix before the first dash picks the protocol', (t) => {
  t.is(k8s('http-web'), 'HTTP');
  t.is(k8s('http'), 'HTTP');
  t.is(k8s('http2-api'), 'HTTP2');
  t.is(k8s('https-admin'), 'HTTPS');
  t.is(k8s('tls-x'), 'TLS');
  t.is(k8s('tcp'), 'TCP');
  t.is(k8s('tcp-7000'), 'TCP');
  t.is(k8s('redis'), 'REDIS');
  t.is(k8s('redis-cache'), 'REDIS');
  t.is(k8s('mysql'), 'MYSQL');
  t.is(k8s('mysql-primary'), 'MYSQL');
  t.is(k8s('mongo-db'), 'MONGO');
  t.is(k8s('grpc-api'), 'GRPC');
  t.is(k8s('udp-dns'), 'UDP');
  t.is(k8s('http_proxy'), 'HTTP_PROXY');
});

test('port name prefix is case-insensitive', (t) => {
  t.is(k8s('HTTP-web'), 'HTTP');
  t.is(k8s('Redis'), 'REDIS');
  t.is(k8s('TCP-x'), 'TCP');
});

test('grpc-web is recognised before the dash split (it would otherwise read as grpc)', (t) => {
  t.is(k8s('grpc-web'), 'GRPC-Web');
  t.is(k8s('grpc-web-ui'), 'GRPC-Web');
  t.is(k8s('GRPC-Web'), 'GRPC-Web');
  t.is(k8s('grpc-webby'), 'GRPC-Web'); // Istio uses HasPrefix on the whole name
  t.is(k8s('grpc-other'), 'GRPC');
});

test('a name without a dash is looked up whole: httpfoo is unknown, so sniffed (AUTO)', (t) => {
  t.is(k8s('httpfoo'), 'AUTO');
  t.is(k8s('tcpx'), 'AUTO');
  t.is(k8s('web'), 'AUTO');
});

test('an unnamed or unknown-named port is AUTO', (t) => {
  t.is(k8s(''), 'AUTO');
  t.is(k8s('', 7000), 'AUTO');
  t.is(k8s('admin', 8080), 'AUTO');
});

test('unnamed ports 25, 53, 3306 and 27017 default to TCP (server-first protocols)', (t) => {
  for (const port of [25, 53, 3306, 27017]) t.is(k8s('', port), 'TCP', `port ${port}`);
  for (const port of [24, 26, 52, 54, 3307, 27018, 6379, 80]) t.is(k8s('', port), 'AUTO', `port ${port}`);
  t.is(k8s('unknown-name', 3306), 'TCP');
});

test('a recognised name wins over the server-first port default', (t) => {
  t.is(k8s('http-web', 3306), 'HTTP');
  t.is(k8s('mysql', 3306), 'MYSQL');
});

test('appProtocol wins over the port name', (t) => {
  t.is(k8s('http-web', 7000, { appProtocol: 'tcp' }), 'TCP');
  t.is(k8s('tcp-redis', 7000, { appProtocol: 'http' }), 'HTTP');
  t.is(k8s('', 7000, { appProtocol: 'redis' }), 'REDIS');
});

test('appProtocol wins even when unknown: an HTTP-named port becomes AUTO', (t) => {
  t.is(k8s('http-web', 7000, { appProtocol: 'something-unknown' }), 'AUTO');
  t.is(k8s('http', 7000, { appProtocol: 'foo' }), 'AUTO');
  t.is(k8s('http', 7000, { appProtocol: '' }), 'AUTO');
});

test('an unknown appProtocol on a server-first port falls back to TCP', (t) => {
  t.is(k8s('http', 3306, { appProtocol: 'foo' }), 'TCP');
});

test('Kubernetes appProtocol aliases map to HTTP2, HTTP and HTTPS', (t) => {
  t.is(k8s('tcp', 7000, { appProtocol: 'kubernetes.io/h2c' }), 'HTTP2');
  t.is(k8s('tcp', 7000, { appProtocol: 'kubernetes.io/ws' }), 'HTTP');
  t.is(k8s('tcp', 7000, { appProtocol: 'kubernetes.io/wss' }), 'HTTPS');
});

test('the aliases apply to appProtocol only, not to the port name', (t) => {
  t.is(k8s('kubernetes.io/h2c'), 'AUTO');
});

test('appProtocol also gets the prefix split and the grpc-web check', (t) => {
  t.is(k8s('tcp', 7000, { appProtocol: 'http-custom' }), 'HTTP');
  t.is(k8s('tcp', 7000, { appProtocol: 'grpc-web' }), 'GRPC-Web');
});

test('protocol UDP wins over everything, including an HTTP name and appProtocol', (t) => {
  t.is(k8s('http-web', 7000, { protocol: 'UDP' }), 'UDP');
  t.is(k8s('tcp', 53, { protocol: 'UDP', appProtocol: 'http' }), 'UDP');
});

test('ServiceEntry: the protocol field decides; empty means AUTO', (t) => {
  t.is(serviceEntryPortProtocol('TCP'), 'TCP');
  t.is(serviceEntryPortProtocol('tcp'), 'TCP');
  t.is(serviceEntryPortProtocol('HTTP'), 'HTTP');
  t.is(serviceEntryPortProtocol('HTTPS'), 'HTTPS');
  t.is(serviceEntryPortProtocol('TLS'), 'TLS');
  t.is(serviceEntryPortProtocol('REDIS'), 'REDIS');
  t.is(serviceEntryPortProtocol('MYSQL'), 'MYSQL');
  t.is(serviceEntryPortProtocol('MONGO'), 'MONGO');
  t.is(serviceEntryPortProtocol(''), 'AUTO');
  t.is(serviceEntryPortProtocol('bogus'), 'AUTO');
});

test('ServiceEntry: the port name is ignored, even when it looks like a protocol', (t) => {
  const { scenario } = parseScenario(
    `name: inline
description: d
istio: "1.30"
workloads: [{ name: sleep, ip: 10.64.192.14 }]
mesh:
  serviceEntries:
    - name: se
      hosts: [ext.example]
      ports:
        - { number: 7000, name: http-web }
        - { number: 7001, name: http-web2, protocol: TCP }
        - { number: 3306, name: mysql }
probes: [{ name: p, from: sleep, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }]
`,
    'inline.yaml',
  );
  const [se] = visibleServices(scenario.mesh, 'default');
  t.deepEqual(
    se!.ports.map((p) => [p.port, p.protocol]),
    [
      [7000, 'AUTO'],
      [7001, 'TCP'],
      [3306, 'AUTO'],
    ],
  );
});

test('listenerClass: HTTP family gets an HTTP listener', (t) => {
  for (const p of ['HTTP', 'HTTP2', 'GRPC', 'GRPC-Web', 'HTTP_PROXY'] as const) t.is(listenerClass(p), 'http', p);
});

test('listenerClass: TCP, TLS, HTTPS, Mongo, Redis and MySQL are plain TCP', (t) => {
  for (const p of ['TCP', 'TLS', 'HTTPS', 'MONGO', 'REDIS', 'MYSQL'] as const) t.is(listenerClass(p), 'tcp', p);
});

test('listenerClass: AUTO is sniffed and UDP gets no listener', (t) => {
  t.is(listenerClass('AUTO'), 'auto');
  t.is(listenerClass('UDP'), 'none');
});

test('end to end: http-web → http listener, unnamed 7000 → auto, unnamed 3306 → tcp', (t) => {
  t.is(listenerClass(k8s('http-web')), 'http');
  t.is(listenerClass(k8s('', 7000)), 'auto');
  t.is(listenerClass(k8s('', 3306)), 'tcp');
});

// Regression (was a bug in harness/model/protocol.ts): PREFIXES and APP_PROTOCOL_ALIASES are plain object literals, so a
// lookup of an inherited Object.prototype key returns a function instead of undefined. The port name
// "constructor" (a valid IANA service name: lowercase, ≤ 15 chars) yields `[Function: Object]`, and
// listenerClass() of that returns undefined, so the port gets no listener at all. Istio treats it as
// an unknown name → AUTO (sniffed). Same for appProtocol "constructor" or "__proto__".
test('a port named "constructor" is an unknown name (AUTO), not an Object.prototype member', (t) => {
  t.is(k8s('constructor'), 'AUTO');
  t.is(k8s('constructor-x'), 'AUTO');
  t.is(k8s('tcp', 7000, { appProtocol: 'constructor' }), 'AUTO');
  t.is(serviceEntryPortProtocol('constructor'), 'AUTO');
  t.is(listenerClass(k8s('constructor')), 'auto');
});

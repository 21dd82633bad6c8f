import test from 'ava';
import { LAB_PREFIX, nsName, planLab, type LabPlan, type NamespacePlan } from '../../harness/lab/topology.ts';
import { loadScenarioFile, parseScenario } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';

const PREFIX = 'egl-abc123';
const plan = (name: string): LabPlan => planLab(loadScenarioFile(name).scenario, PREFIX);

function ns(p: LabPlan, owner: string): NamespacePlan {
  const n = p.namespaces.find((x) => x.owner === owner);
  if (!n) throw new Error(`no namespace for ${owner}`);
  return n;
}

/** The hosts-file line for an IP, split into names. */
function hostsNames(hosts: string, ip: string): string[] | undefined {
  const line = hosts.split('\n').find((l) => l.startsWith(`${ip} `));
  return line?.split(' ').slice(1);
}

function inline(body: string): Scenario {
  return parseScenario(
    `name: inline
description: unit test
istio: "1.30"
${body}
probes:
  - { name: p, from: sleep, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`,
    'inline.yaml',
  ).scenario;
}

test('every namespace name, the router included, starts with the run prefix', (t) => {
  const p = plan('redis-7000');
  t.is(p.prefix, PREFIX);
  t.true(PREFIX.startsWith(LAB_PREFIX));
  t.true(p.router.startsWith(`${PREFIX}-`));
  t.is(p.router, 'egl-abc123-node-router');
  for (const n of p.namespaces) t.true(n.name.startsWith(`${PREFIX}-`), n.name);
  t.deepEqual(
    p.namespaces.map((n) => n.name),
    ['egl-abc123-pod-sleep', 'egl-abc123-ext-redis-cluster'],
  );
});

test('nsName joins prefix, role and owner', (t) => {
  t.is(nsName(PREFIX, 'pod', 'sleep'), 'egl-abc123-pod-sleep');
});

test('router-side interface and bridge names start with the dash-less prefix and fit IFNAMSIZ (≤ 15)', (t) => {
  const p = plan('redis-7000');
  const ifnames = [...p.namespaces.map((n) => n.routerIf), ...p.bridges.map((b) => b.name)];
  t.true(ifnames.length >= 4);
  for (const name of ifnames) {
    t.true(name.startsWith('eglabc123'), name);
    t.true(name.length <= 15, `${name} is ${name.length} chars`);
  }
  t.is(new Set(ifnames).size, ifnames.length, 'names are unique');
});

test('with a real run prefix (egl- + 6 hex) and many namespaces the names still fit 15 chars', (t) => {
  const workloads = Array.from({ length: 12 }, (_, i) => `  - { name: w${i}, ip: 10.64.192.${20 + i} }`).join('\n');
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }\n${workloads}`);
  const p = planLab(s, 'egl-0a1b2c');
  for (const n of p.namespaces) t.true(n.routerIf.length <= 15, n.routerIf);
});

test('pod bridge: the router takes .1 of the pod CIDR and pods use it as gateway', (t) => {
  const p = plan('redis-7000');
  const podBridge = p.bridges.find((b) => b.name === ns(p, 'sleep').bridge)!;
  t.is(podBridge.address, '10.64.192.1/24');
  t.is(ns(p, 'sleep').gateway, '10.64.192.1');
  t.deepEqual(ns(p, 'sleep').addresses, ['10.64.192.14/24']);
  t.is(ns(p, 'sleep').role, 'pod');
});

test('pod bridge: the router takes .254 when a workload already uses .1', (t) => {
  const s = inline('workloads:\n  - { name: sleep, ip: 10.64.192.1 }');
  const p = planLab(s, PREFIX);
  t.is(p.bridges[0]!.address, '10.64.192.254/24');
  t.is(ns(p, 'sleep').gateway, '10.64.192.254');
});

test('pod bridge follows lab.podCIDR, prefix length included', (t) => {
  const s = inline('lab: { podCIDR: 10.244.0.0/16 }\nworkloads:\n  - { name: sleep, ip: 10.244.3.7 }');
  const p = planLab(s, PREFIX);
  t.is(p.bridges[0]!.address, '10.244.0.1/16');
  t.deepEqual(ns(p, 'sleep').addresses, ['10.244.3.7/16']);
});

test('pod bridge works for a pod CIDR above 128.0.0.0 (no signed-int arithmetic)', (t) => {
  const s = inline('lab: { podCIDR: 192.168.50.0/24 }\nworkloads:\n  - { name: sleep, ip: 192.168.50.10 }');
  t.is(planLab(s, PREFIX).bridges[0]!.address, '192.168.50.1/24');
});

test('external bridge: 10.0.0.1/24 for a server on 10.0.0.6, which uses it as gateway', (t) => {
  const p = plan('redis-7000');
  const ext = ns(p, 'redis-cluster');
  t.is(ext.role, 'external');
  const bridge = p.bridges.find((b) => b.name === ext.bridge)!;
  t.is(bridge.address, '10.0.0.1/24');
  t.is(ext.gateway, '10.0.0.1');
  t.deepEqual(ext.addresses, ['10.0.0.6/24']);
  t.not(ext.bridge, ns(p, 'sleep').bridge);
});

test('external servers in one /24 share a bridge; another /24 gets its own', (t) => {
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
externalServers:
  - { name: a, kind: redis, addresses: [10.0.0.6, 10.0.0.7], ports: [7000] }
  - { name: b, kind: redis, addresses: [10.0.0.8], ports: [7000] }
  - { name: c, kind: redis, addresses: [203.0.113.10], ports: [6379] }`);
  const p = planLab(s, PREFIX);
  t.is(ns(p, 'a').bridge, ns(p, 'b').bridge);
  t.not(ns(p, 'a').bridge, ns(p, 'c').bridge);
  t.deepEqual(ns(p, 'a').addresses, ['10.0.0.6/24', '10.0.0.7/24']);
  t.is(ns(p, 'c').gateway, '203.0.113.1');
  t.is(p.bridges.length, 3);
});

test('external bridge takes .254 when a server uses .1', (t) => {
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
externalServers:
  - { name: a, kind: redis, addresses: [10.0.0.1], ports: [7000] }`);
  t.is(ns(planLab(s, PREFIX), 'a').gateway, '10.0.0.254');
});

test('an external server whose addresses span two /24s is rejected with a clear error', (t) => {
  // The loader refuses it first, naming the address and why.
  const err = t.throws(() =>
    inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
externalServers:
  - { name: split, kind: redis, addresses: [10.0.0.6, 10.0.1.6], ports: [7000] }`),
  );
  t.regex(err.message, /externalServers\[0\]\.addresses\[1\]: expected an address in the same \/24 as 10\.0\.0\.6/);
  // planLab still checks on its own, for a scenario built in code.
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
externalServers:
  - { name: split, kind: redis, addresses: [10.0.0.6], ports: [7000] }`);
  s.externalServers[0]!.addresses.push('10.0.1.6');
  const planErr = t.throws(() => planLab(s, PREFIX));
  t.regex(planErr.message, /external server split/);
  t.regex(planErr.message, /one \/24/);
  t.regex(planErr.message, /10\.0\.0\.0\/24/);
  t.regex(planErr.message, /10\.0\.1\.0\/24/);
});

test("hosts file: a Service's FQDN and short names, without the bare name outside its namespace", (t) => {
  const hosts = ns(plan('redis-7000'), 'sleep').hosts;
  t.deepEqual(hostsNames(hosts, '10.233.0.115'), ['web-admin.ops.svc.cluster.local', 'web-admin.ops.svc', 'web-admin.ops']);
  t.true(hosts.startsWith('127.0.0.1 localhost\n'));
  t.true(hosts.endsWith('\n'));
});

test("hosts file: the bare Service name only in the Service's own namespace", (t) => {
  const p = plan('redis-7000-fix-service-endpoints');
  // sleep is in dev-self, like rediscluster; web-admin is in ops.
  t.deepEqual(hostsNames(ns(p, 'sleep').hosts, '10.233.40.115'), [
    'rediscluster.dev-self.svc.cluster.local',
    'rediscluster.dev-self.svc',
    'rediscluster.dev-self',
    'rediscluster',
  ]);
  t.false(hostsNames(ns(p, 'sleep').hosts, '10.233.0.115')!.includes('web-admin'));
  // The external host has no namespace: no bare names at all.
  t.false(hostsNames(ns(p, 'redis-cluster').hosts, '10.233.40.115')!.includes('rediscluster'));
});

test('hosts file: external hostnames on the first address; no pod names (a pod name could shadow a Service name); headless Services skipped', (t) => {
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }\n  - { name: web, ip: 10.64.192.15 }
mesh:
  services:
    - { name: hl, clusterIP: None, ports: [{ port: 80 }] }
externalServers:
  - { name: r, kind: redis, addresses: [10.0.0.6, 10.0.0.7], ports: [7000], hostnames: [redis.example.com, r.example] }`);
  const hosts = ns(planLab(s, PREFIX), 'sleep').hosts;
  t.deepEqual(hostsNames(hosts, '10.0.0.6'), ['redis.example.com', 'r.example']);
  t.is(hostsNames(hosts, '10.0.0.7'), undefined);
  t.is(hostsNames(hosts, '10.64.192.15'), undefined);
  t.false(hosts.includes('hl.default'));
  t.false(hosts.includes('None'));
});

test("resolv.conf searches the pod's own namespace first", (t) => {
  const p = plan('redis-7000');
  t.regex(ns(p, 'sleep').resolvConf, /^search dev-self\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
  t.regex(ns(p, 'redis-cluster').resolvConf, /^search default\.svc\.cluster\.local /m);
});

test('DNAT: a Service with Endpoints gets one rule per port, ClusterIP:port → first endpoint', (t) => {
  t.deepEqual(plan('redis-7000-fix-service-endpoints').dnat, [
    { clusterIP: '10.233.40.115', port: 7000, to: '10.0.0.6:7000' },
    { clusterIP: '10.233.40.115', port: 7001, to: '10.0.0.6:7001' },
    { clusterIP: '10.233.40.115', port: 7002, to: '10.0.0.6:7002' },
    { clusterIP: '10.233.40.115', port: 7003, to: '10.0.0.6:7003' },
  ]);
});

test('DNAT: a selector Service without Endpoints gets no rule', (t) => {
  t.deepEqual(plan('redis-7000').dnat, []);
  t.false(plan('redis-7000-fix-service-endpoints').dnat.some((r) => r.clusterIP === '10.233.0.115'));
});

test('DNAT: ports are matched by name and target the Endpoints port number', (t) => {
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
mesh:
  services:
    - { name: db, clusterIP: 10.233.1.1, ports: [{ name: a, port: 80 }, { name: b, port: 81 }, { name: c, port: 82 }] }
  endpoints:
    - { name: db, addresses: [10.0.0.6, 10.0.0.7], ports: [{ name: b, port: 9081 }, { name: a, port: 9080 }] }`);
  t.deepEqual(planLab(s, PREFIX).dnat, [
    { clusterIP: '10.233.1.1', port: 80, to: '10.0.0.6:9080' },
    { clusterIP: '10.233.1.1', port: 81, to: '10.0.0.6:9081' },
  ]);
});

test('DNAT: a headless Service gets no rule even with Endpoints', (t) => {
  const s = inline(`workloads:\n  - { name: sleep, ip: 10.64.192.14 }
mesh:
  services:
    - { name: hl, clusterIP: None, ports: [{ port: 80 }] }
  endpoints:
    - { name: hl, addresses: [10.0.0.6], ports: [{ port: 80 }] }`);
  t.deepEqual(planLab(s, PREFIX).dnat, []);
});

test('planLab is pure: the same scenario and prefix give the same plan', (t) => {
  t.deepEqual(plan('redis-7000-fix-service-endpoints'), plan('redis-7000-fix-service-endpoints'));
});

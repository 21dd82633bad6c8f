import test from 'ava';
import { blockOf } from '../helpers/probes.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import {
  clusterIpChanges,
  needsRestart,
  podTemplateHash,
  scenarioManifests,
  templateChanges,
  uncoveredStats,
} from '../../harness/kind/manifests.ts';
import {
  IstioV1Object,
  KIND_ORDER,
  KIND_SERVICE_CIDR,
  SCENARIO_LABEL,
  keepsClusterIP,
  toYaml,
  validateObject,
  type KubeObject,
  type ManifestOptions,
} from '../../harness/k8s/objects.ts';
import { substituteAddresses, unmappedAddresses, type AddressMap } from '../../harness/scenario/addressMapping.ts';
import { renderManifests } from '../../scripts/render-manifests.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const OPTS: ManifestOptions = {
  clientImage: 'nicolaka/netshoot:v0.13',
  serverImages: { mysql: 'mariadb:11.4' },
  statsInclusionPrefixes: ['cluster.PassthroughCluster', 'cluster.BlackHoleCluster', 'tcp.'],
  serviceCIDR: KIND_SERVICE_CIDR,
};

const load = (name: string): Scenario => loadScenarioFile(name).scenario;
const manifests = (name: string, opts = OPTS) => scenarioManifests(load(name), opts);

function find<K extends KubeObject['kind']>(
  objs: KubeObject[],
  kind: K,
  name: string,
  namespace?: string,
): Extract<KubeObject, { kind: K }> {
  const o = objs.find(
    (x) => x.kind === kind && x.metadata?.name === name && (namespace === undefined || x.metadata?.namespace === namespace),
  );
  if (!o) throw new Error(`no ${kind} ${namespace ?? '*'}/${name} in ${objs.map((x) => `${x.kind}/${x.metadata?.name}`).join(', ')}`);
  return o as Extract<KubeObject, { kind: K }>;
}

const plain = (o: unknown) => JSON.parse(JSON.stringify(o));

// ---------------------------------------------------------------------------------------------
// Generation

const modern = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(join(SCENARIO_DIR, f)))
  .filter((l) => l.istio.era === 'modern');

test('every modern-Istio scenario generates schema-valid objects that round-trip through YAML', (t) => {
  t.true(modern.length >= 8, `only ${modern.length} modern scenarios found`);
  for (const { scenario } of modern) {
    const objs = scenarioManifests(scenario, OPTS);
    t.is(objs.filter((o) => o.kind === 'Deployment').length, scenario.workloads.length, scenario.name);
    for (const o of objs) {
      t.notThrows(() => o.validate(), `${scenario.name}: ${o.kind} ${o.metadata?.name}`);
      t.is(
        o.metadata?.labels?.[SCENARIO_LABEL],
        scenario.name,
        `${scenario.name}: ${o.kind} ${o.metadata?.name} carries the scenario label`,
      );
    }
    const docs = parseAllDocuments(toYaml(objs)).map((d) => d.toJS());
    t.deepEqual(docs, objs.map(plain), scenario.name);
  }
});

test('toYaml: multi-document, kinds in the apply order', (t) => {
  const objs = manifests('mysql-3306-foreign-serviceentry');
  const kinds = parseAllDocuments(toYaml([...objs].reverse())).map((d) => (d.toJS() as { kind: string }).kind);
  t.deepEqual(kinds, ['Namespace', 'Namespace', 'Sidecar', 'Service', 'ServiceEntry', 'Deployment', 'Deployment']);
  const rank = kinds.map((k) => (KIND_ORDER as readonly string[]).indexOf(k));
  t.deepEqual(
    rank,
    [...rank].sort((a, b) => a - b),
  );
});

test('namespaces: one per namespace used, labelled for injection and for the scenario; shared ones are not created', (t) => {
  const objs = manifests('redis-7000-modern');
  const nss = objs.filter((o) => o.kind === 'Namespace');
  t.deepEqual(
    nss.map((n) => n.metadata?.name),
    ['dev-self', 'ops'],
  );
  for (const n of nss) t.deepEqual(n.metadata?.labels, { 'istio-injection': 'enabled', [SCENARIO_LABEL]: 'redis-7000-modern' });

  // default and istio-system exist before and after a scenario: objects go there, Namespaces do not.
  const reg = manifests('registry-only-fix-serviceentry');
  t.deepEqual(
    reg.filter((o) => o.kind === 'Namespace'),
    [],
  );
  t.is(find(reg, 'Service', 'istio-ingressgateway', 'istio-system').metadata?.labels?.[SCENARIO_LABEL], 'registry-only-fix-serviceentry');
  t.is(find(reg, 'Deployment', 'sleep', 'default').metadata?.namespace, 'default');
});

test('the pod template: client image as uid 1000, injection, stats matcher, scenario annotations', (t) => {
  const d = find(manifests('redis-7000-fix-exclude-ip-ranges'), 'Deployment', 'sleep', 'dev-self');
  const tpl = d.spec!.template;
  t.is(d.spec?.replicas, 1);
  t.deepEqual(d.spec?.selector.matchLabels, { app: 'sleep' });
  t.is(tpl.metadata?.labels?.app, 'sleep');
  t.is(tpl.metadata?.annotations?.['traffic.sidecar.istio.io/excludeOutboundIPRanges'], '10.0.0.0/24');
  t.is(tpl.metadata?.annotations?.['sidecar.istio.io/inject'], 'true');
  t.is(tpl.metadata?.labels?.['sidecar.istio.io/inject'], 'true');
  t.is(tpl.spec?.terminationGracePeriodSeconds, 0);
  const app = tpl.spec!.containers[0]!;
  t.is(app.name, 'app');
  t.is(app.image, OPTS.clientImage);
  t.deepEqual(app.command, ['sleep', 'infinity']);
  t.is(app.securityContext?.runAsUser, 1000);
  const cfg = parseYaml(tpl.metadata!.annotations!['proxy.istio.io/config']!);
  t.deepEqual(cfg, { proxyStatsMatcher: { inclusionPrefixes: OPTS.statsInclusionPrefixes } });
});

test('a workload without sidecar: inject false, no proxy config; an existing proxy config is merged', (t) => {
  const s = load('redis-7000-modern');
  s.workloads.push({ ...structuredClone(s.workloads[0]!), name: 'plain', sidecar: false });
  s.workloads[0]!.annotations['proxy.istio.io/config'] =
    'holdApplicationUntilProxyStarts: true\nproxyStatsMatcher:\n  inclusionPrefixes: [server.]\n';
  const objs = scenarioManifests(s, OPTS);
  const plainTpl = find(objs, 'Deployment', 'plain').spec!.template;
  t.is(plainTpl.metadata?.annotations?.['sidecar.istio.io/inject'], 'false');
  t.is(plainTpl.metadata?.labels?.['sidecar.istio.io/inject'], 'false');
  t.is(plainTpl.metadata?.annotations?.['proxy.istio.io/config'], undefined);
  const merged = parseYaml(find(objs, 'Deployment', 'sleep').spec!.template.metadata!.annotations!['proxy.istio.io/config']!);
  t.deepEqual(merged, {
    holdApplicationUntilProxyStarts: true,
    proxyStatsMatcher: { inclusionPrefixes: ['server.', ...OPTS.statsInclusionPrefixes] },
  });
});

test('the in-mesh MySQL server runs MariaDB beside the client container', (t) => {
  const d = find(manifests('mysql-3306-foreign-serviceentry'), 'Deployment', 'mysql-server', 'demo1');
  const tpl = d.spec!.template;
  t.deepEqual(tpl.metadata?.labels, { app: 'mysql-server', 'sidecar.istio.io/inject': 'true' });
  const db = tpl.spec!.containers.find((c) => c.name === 'mysql');
  t.truthy(db);
  t.is(db?.image, 'mariadb:11.4');
  t.deepEqual(db?.ports, [{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }]);
  t.deepEqual(Object.fromEntries((db?.env ?? []).map((e) => [e.name, e.value])), {
    MARIADB_ROOT_PASSWORD: 'root',
    MARIADB_USER: 'lab',
    MARIADB_PASSWORD: 'lab-password',
    MARIADB_DATABASE: 'labdb',
  });
  t.is(db?.args, undefined, 'port 3306 needs no --port');
  t.truthy(tpl.spec!.containers.find((c) => c.name === 'app' && c.securityContext?.runAsUser === 1000));
});

test('Sidecar named default per workload namespace carries the outbound policy', (t) => {
  const reg = manifests('redis-7000-registry-only').filter((o) => o.kind === 'Sidecar');
  t.is(reg.length, 1);
  t.is(reg[0]!.apiVersion, 'networking.istio.io/v1');
  t.is(reg[0]!.metadata.name, 'default');
  t.is(reg[0]!.metadata.namespace, 'dev-self');
  t.is(reg[0]!.spec.outboundTrafficPolicy?.mode, 'REGISTRY_ONLY');
  t.is(find(manifests('redis-7000-modern'), 'Sidecar', 'default', 'dev-self').spec.outboundTrafficPolicy?.mode, 'ALLOW_ANY');
  // Namespaces without workloads (ops) get none.
  t.deepEqual(
    manifests('redis-7000-modern')
      .filter((o) => o.kind === 'Sidecar')
      .map((o) => o.metadata?.namespace),
    ['dev-self'],
  );
});

test('ServiceEntries: the foreign TCP entry of seed 002 and the HTTPS one', (t) => {
  const se = find(manifests('mysql-3306-foreign-serviceentry'), 'ServiceEntry', 'mysql-demo', 'demo');
  t.is(se.apiVersion, 'networking.istio.io/v1');
  t.deepEqual(plain(se.spec), {
    hosts: ['mysql.demo'],
    ports: [{ number: 3306, name: 'tcp-mysql', protocol: 'TCP' }],
    resolution: 'DNS',
    location: 'MESH_EXTERNAL',
    exportTo: ['*'],
  });
  t.false('addresses' in se.spec, 'no addresses: that is the incident');
  const sni = find(manifests('https-serviceentry-sni'), 'ServiceEntry', 'baidu', 'default');
  t.deepEqual(plain(sni.spec), {
    hosts: ['www.baidu.com'],
    ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
    resolution: 'DNS',
    location: 'MESH_EXTERNAL',
    exportTo: ['*'],
  });
  const fix = find(manifests('redis-7000-fix-serviceentry'), 'ServiceEntry', 'rediscluster');
  t.deepEqual(fix.spec.addresses, ['10.0.0.6/32']);
});

test("hostAliases: the external servers' hostnames resolve to their (substituted) addresses", (t) => {
  const s = load('https-serviceentry-sni');
  t.deepEqual(find(scenarioManifests(s, OPTS), 'Deployment', 'sleep').spec?.template.spec?.hostAliases, [
    { ip: '10.20.0.10', hostnames: ['www.baidu.com'] },
    { ip: '10.20.0.163', hostnames: ['www.163.com'] },
  ]);
  const real = substituteAddresses(
    s,
    new Map([
      ['10.20.0.10', '172.18.0.5'],
      ['10.20.0.163', '172.18.0.6'],
    ]),
  );
  t.deepEqual(
    find(scenarioManifests(real, OPTS), 'Deployment', 'sleep').spec?.template.spec?.hostAliases?.map((h) => h.ip),
    ['172.18.0.5', '172.18.0.6'],
  );
});

test('VirtualService: timeout 3s and the destination', (t) => {
  const vs = find(manifests('virtualservice-timeout'), 'VirtualService', 'httpbin-ext', 'default');
  t.is(vs.apiVersion, 'networking.istio.io/v1');
  t.deepEqual(plain(vs.spec), {
    hosts: ['httpbin.org'],
    exportTo: ['*'],
    http: [{ timeout: '3s', route: [{ destination: { host: 'httpbin.org' }, weight: 100 }] }],
  });
});

test('Services and Endpoints: selector-less Service plus hand-written Endpoints; ClusterIPs kind must assign', (t) => {
  const s = load('redis-7000-fix-service-endpoints');
  const objs = scenarioManifests(s, OPTS);
  const svc = find(objs, 'Service', 'rediscluster', 'dev-self');
  t.is(svc.spec?.selector, undefined);
  t.is(svc.spec?.clusterIP, undefined, "10.233.40.115 is outside kind's 10.96.0.0/16");
  t.is(svc.metadata?.annotations?.['egress-lab.io/lab-cluster-ip'], '10.233.40.115');
  t.deepEqual(
    svc.spec?.ports?.map((p) => [p.name, p.port]),
    [
      ['tcp-7000', 7000],
      ['tcp-7001', 7001],
      ['tcp-7002', 7002],
      ['tcp-7003', 7003],
    ],
  );
  const ep = find(objs, 'Endpoints', 'rediscluster', 'dev-self');
  t.deepEqual(plain(ep.subsets), [
    {
      addresses: [{ ip: '10.0.0.6' }],
      ports: [7000, 7001, 7002, 7003].map((port) => ({ name: `tcp-${port}`, port, protocol: 'TCP' })),
    },
  ]);
  t.deepEqual(find(objs, 'Service', 'web-admin', 'ops').spec?.selector, { app: 'web-admin' });
  t.deepEqual(clusterIpChanges(s), [
    { namespace: 'ops', name: 'web-admin', clusterIP: '10.233.0.115' },
    { namespace: 'dev-self', name: 'rediscluster', clusterIP: '10.233.40.115' },
  ]);
  // A ClusterIP inside kind's range is kept; the API server's and kube-dns's are not; headless stays headless.
  s.mesh.services[1]!.clusterIP = '10.96.40.115';
  s.mesh.services[0]!.clusterIP = 'None';
  const kept = scenarioManifests(s, OPTS);
  t.is(find(kept, 'Service', 'rediscluster').spec?.clusterIP, '10.96.40.115');
  t.is(find(kept, 'Service', 'web-admin').spec?.clusterIP, 'None');
  t.deepEqual(clusterIpChanges(s), []);
  t.false(keepsClusterIP('10.96.0.10', KIND_SERVICE_CIDR));
  t.false(keepsClusterIP('10.96.0.1', KIND_SERVICE_CIDR));
  t.true(keepsClusterIP('10.96.0.11', KIND_SERVICE_CIDR));
  // The netns lab has no service CIDR of its own: every scenario ClusterIP is kept.
  t.true(keepsClusterIP('10.233.40.115', undefined));
});

// ---------------------------------------------------------------------------------------------
// Validation

test('an object made invalid after generation is rejected by validate() with the field and the allowed values', (t) => {
  const objs = manifests('mysql-3306-foreign-serviceentry');
  const se = find(objs, 'ServiceEntry', 'mysql-demo');
  t.true(se instanceof IstioV1Object);
  (se.spec as { resolution: string }).resolution = 'BOGUS';
  const raw = t.throws(() => se.validate());
  t.regex(raw?.message ?? '', /resolution/);
  const err = t.throws(() => validateObject(se, 'mysql-3306-foreign-serviceentry'));
  t.is(
    err?.message,
    'scenario mysql-3306-foreign-serviceentry: ServiceEntry demo/mysql-demo (networking.istio.io/v1) is not valid: spec.resolution: must be equal to one of the allowed values (allowed: NONE, STATIC, DNS, DNS_ROUND_ROBIN)',
  );
  const dep = find(objs, 'Deployment', 'mysql-server');
  (dep.spec!.template.spec!.containers[1]!.ports![0] as { containerPort: unknown }).containerPort = 'three';
  t.regex(
    t.throws(() => validateObject(dep, 'x'))?.message ?? '',
    /Deployment demo1\/mysql-server \(apps\/v1\) is not valid: spec\.template\.spec\.containers\[1\]\.ports\[0\]\.containerPort: must be integer/,
  );
});

test('scenarioManifests refuses a scenario whose objects would not validate, naming it', (t) => {
  const s = load('redis-7000-registry-only');
  (s.mesh as { outboundTrafficPolicy: string }).outboundTrafficPolicy = 'DENY_ALL';
  t.throws(() => scenarioManifests(s, OPTS), {
    message:
      /^scenario redis-7000-registry-only: Sidecar dev-self\/default .*spec\.outboundTrafficPolicy\.mode: .*allowed: REGISTRY_ONLY, ALLOW_ANY/,
  });
  const two = load('redis-7000-fix-service-endpoints');
  two.mesh.services[1]!.ports[0]!.name = '';
  t.throws(() => scenarioManifests(two, OPTS), { message: /Service dev-self\/rediscluster .*every port needs a name/ });
  const clash = load('mysql-3306-foreign-serviceentry');
  clash.workloads[1]!.labels = { app: 'db' };
  t.throws(() => scenarioManifests(clash, OPTS), { message: /label app=db, but pods are selected by app=mysql-server/ });
});

test('uncoveredStats: every stat the modern scenarios expect is covered by the default prefixes', (t) => {
  for (const { scenario } of modern) t.deepEqual(uncoveredStats(scenario, MESH_STATS_PREFIXES), [], scenario.name);
  t.deepEqual(uncoveredStats(load('redis-7000-modern'), ['cluster.', 'tcp.']), [
    'http_inspector.http10_found',
    'listener.0.0.0.0_15001.downstream_cx_total',
    'listener.0.0.0.0_7000.downstream_cx_total',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Addresses

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

// ---------------------------------------------------------------------------------------------
// Restarts

test('needsRestart: identical templates no, an annotation, the sidecar or the image yes', (t) => {
  const gen = (s: Scenario) => find(scenarioManifests(s, OPTS), 'Deployment', 'sleep') as Deployment;
  const base = load('redis-7000-modern');
  const a = gen(base);
  const b = gen(structuredClone(base));
  t.false(needsRestart(a, b));
  t.deepEqual(templateChanges(a, b), []);
  t.is(podTemplateHash(a), podTemplateHash(b));
  t.is(a.metadata?.annotations?.['egress-lab.io/pod-template-hash'], podTemplateHash(a));

  const annotated = structuredClone(base);
  annotated.workloads[0]!.annotations['traffic.sidecar.istio.io/excludeOutboundIPRanges'] = '172.18.0.5/32';
  t.true(needsRestart(a, gen(annotated)));
  t.deepEqual(templateChanges(a, gen(annotated)), ['annotation traffic.sidecar.istio.io/excludeOutboundIPRanges added']);
  t.not(podTemplateHash(a), podTemplateHash(gen(annotated)));

  const off = structuredClone(base);
  off.workloads[0]!.sidecar = false;
  t.true(needsRestart(a, gen(off)));
  t.is(templateChanges(a, gen(off))[0], 'sidecar on → off');

  const image = find(scenarioManifests(base, { ...OPTS, clientImage: 'nicolaka/netshoot:v0.14' }), 'Deployment', 'sleep') as Deployment;
  t.deepEqual(templateChanges(a, image), ['image of app: nicolaka/netshoot:v0.13 → nicolaka/netshoot:v0.14']);

  // Key order is not a change.
  const shuffled = plain(a);
  shuffled.spec.template.metadata.annotations = Object.fromEntries(
    Object.entries(shuffled.spec.template.metadata.annotations as Record<string, string>).reverse(),
  );
  t.false(needsRestart(a, new Deployment(shuffled)));
});

// ---------------------------------------------------------------------------------------------
// The examples and the script

test('manifests/examples are what scripts/render-manifests.ts renders now', (t) => {
  for (const name of ['redis-7000-modern', 'mysql-3306-foreign-serviceentry']) {
    const file = join(ROOT, 'manifests', 'examples', `${name}.yaml`);
    t.is(readFileSync(file, 'utf8'), renderManifests(name), `${file} is stale: npx tsx scripts/render-manifests.ts ${name} ${file}`);
  }
});

test('scripts/render-manifests.ts writes the file it is given, and exits 2 on an unknown scenario', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egl-render-'));
  try {
    const out = join(dir, 'm.yaml');
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    execFileSync(tsx, ['scripts/render-manifests.ts', 'virtualservice-timeout', out], { cwd: ROOT, stdio: 'pipe' });
    const text = readFileSync(out, 'utf8');
    t.is(text, renderManifests('virtualservice-timeout'));
    t.regex(text, /timeout: 3s/);
    const err = t.throws(() =>
      execFileSync(tsx, ['scripts/render-manifests.ts', 'no-such-scenario'], { cwd: ROOT, stdio: 'pipe' }),
    ) as Error & { status: number; stderr: Buffer };
    t.is(err.status, 2);
    t.regex(err.stderr.toString(), /no scenario "no-such-scenario"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

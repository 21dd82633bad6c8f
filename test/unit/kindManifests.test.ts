import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { clusterIpChanges, scenarioManifests, uncoveredStats } from '../../harness/kind/manifests.ts';
import {
  IstioV1Object,
  KIND_ORDER,
  KIND_SERVICE_CIDR,
  SCENARIO_LABEL,
  keepsClusterIP,
  toYaml,
  validateObject,
} from '../../harness/k8s/objects.ts';
import { substituteAddresses } from '../../harness/scenario/addressMapping.ts';
import { renderManifests } from '../../scripts/render-manifests.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';
import { mysql } from '../../harness/servers/mysql.ts';
import { OPTS, load, find, modern } from '../helpers/kindManifests.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const manifests = (name: string, opts = OPTS) => scenarioManifests(load(name), opts);

const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;

// ---------------------------------------------------------------------------------------------
// Generation

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
    const docs = parseAllDocuments(toYaml(objs)).map((d) => d.toJS() as unknown);
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
  const cfg = parseYaml(tpl.metadata!.annotations!['proxy.istio.io/config']!) as unknown;
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
  const merged = parseYaml(find(objs, 'Deployment', 'sleep').spec!.template.metadata!.annotations!['proxy.istio.io/config']!) as unknown;
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
  t.is(db?.image, mysql.image, 'the pod server runs the image the mysql server kind pins');
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
  const reg = manifests('redis-7000-registry-only').filter((o) => o.kind === 'Sidecar') as IstioV1Object<'Sidecar'>[];
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
// Restarts

// ---------------------------------------------------------------------------------------------
// The examples

test('manifests/examples are what scripts/render-manifests.ts renders now', (t) => {
  for (const name of ['redis-7000-modern', 'mysql-3306-foreign-serviceentry']) {
    const file = join(ROOT, 'manifests', 'examples', `${name}.yaml`);
    t.is(readFileSync(file, 'utf8'), renderManifests(name), `${file} is stale: npx tsx scripts/render-manifests.ts ${name} ${file}`);
  }
});

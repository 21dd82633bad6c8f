/**
 * `egress-lab import`, its pure parts on plain data: reading a customer's objects (Lists, noise,
 * malformed objects), choosing the objects that can affect a pod's traffic, the scenario written
 * (every kept object verbatim, the mesh config whole), a bug-report archive, and --record's
 * expectations.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { create as createTar } from 'tar';
import { customerObjects, ImportError, type CustomerObject, type InputDocument } from '../../harness/import/customerObjects.ts';
import { readCustomerFiles } from '../../harness/import/customerFiles.ts';
import { relevantObjects, type Destination } from '../../harness/import/relevance.ts';
import { importedScenario } from '../../harness/import/toScenario.ts';
import { recordIntoScenario } from '../../harness/import/record.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { CERT_TEXT, customerCluster, SECRET_TEXT } from '../helpers/customerCluster.ts';
import type { ScenarioOutcome } from '../../harness/result/outcome.ts';
import { authored, FORMAT_DROP, type RawObject as Raw } from '../helpers/importedObjects.ts';
import { parseConntrack } from '../../harness/evidence/conntrack.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-import-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const seed002 = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
// Hundreds of Services in ten namespaces, as a real cluster has.
const cluster = customerCluster(seed002, 'mysql-client', 3306, { unrelated: 300 });
const yamlDocs = (text: string, file: string): InputDocument[] =>
  parseAllDocuments(text).map((d) => ({ file, value: d.toJS() as unknown }));
const input = customerObjects([
  ...yamlDocs(cluster.listYaml, 'objects.yaml'),
  ...yamlDocs(cluster.podYaml, 'pod.yaml'),
  ...yamlDocs(cluster.meshConfigYaml, 'istio.yaml'),
]);
const pod = input.objects.find((o) => o.kind === 'Pod' && o.meta.name === 'mysql-client')!;
const to = (text: string): Destination => ({ host: text.split(':')[0]!, port: Number(text.split(':')[1]), text });
const ref = (o: CustomerObject) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`;

const svc = (name: string, namespace: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, annotations },
  spec,
});
const objectsOf = (...values: unknown[]) =>
  customerObjects([{ file: 'x.yaml', value: { apiVersion: 'v1', kind: 'List', items: values } }]).objects;

const rawItems = (parseYaml(cluster.listYaml) as { items: Raw[] }).items;
const rawItem = (kind: string, namespace: string, name: string): Raw =>
  rawItems.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name)!;

test('a kubectl List is read item by item; Secrets, other ConfigMaps (istio-ca-root-cert too) and other kinds are not read; the mesh config is', (t) => {
  t.true(input.objects.filter((o) => o.kind === 'Service').length >= 301);
  t.is(input.meshConfig?.value.rootNamespace, 'istio-system');
  t.deepEqual(
    input.skipped.map((s) => s.what).sort(),
    [
      'ConfigMap default/istio-ca-root-cert',
      'ConfigMap demo1/ca-bundle',
      'Deployment team-1/web',
      'Namespace demo',
      'Namespace demo1',
      'Namespace team-1',
      'Secret demo1/db-credentials',
    ].sort(),
  );
  t.false(JSON.stringify(input.objects).includes('db-credentials'));
  t.false(JSON.stringify(input.objects).includes(CERT_TEXT));
  t.false(JSON.stringify(input.objects).includes('last-applied-configuration'), 'last-applied annotations are dropped');
});

test('a malformed object is an error naming the file, the item, the object and the field', (t) => {
  const bad = {
    file: 'objects.yaml',
    value: {
      apiVersion: 'v1',
      kind: 'List',
      items: [svc('ok', 'a', { ports: [{ port: 80 }] }), svc('broken', 'team-3', { ports: [{ port: 'eighty' }] })],
    },
  };
  t.throws(() => customerObjects([bad]), {
    instanceOf: ImportError,
    message: 'objects.yaml item 1 (Service team-3/broken): spec.ports.0.port must be integer',
  });
  const wrongApi = {
    file: 'se.yaml',
    value: { apiVersion: 'networking.istio.io/v2', kind: 'ServiceEntry', metadata: { name: 'x', namespace: 'y' }, spec: { hosts: ['a'] } },
  };
  t.throws(() => customerObjects([wrongApi]), {
    message:
      /^se\.yaml \(ServiceEntry y\/x\): apiVersion: expected networking\.istio\.io\/v1\(alpha3\|beta1\)\?, got "networking\.istio\.io\/v2"/,
  });
  t.throws(() => customerObjects([{ file: 'n.yaml', value: { kind: 'Service', apiVersion: 'v1', metadata: {} } }]), {
    message: /n\.yaml \(Service \?\): metadata\.name: expected a name/,
  });
  t.throws(() => customerObjects([{ file: 'l.yaml', value: [1, 2] }]), { message: /l\.yaml: expected a Kubernetes object with a kind/ });
  const cm = {
    file: 'cm.yaml',
    value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'a: [' } },
  };
  t.throws(() => customerObjects([cm]), { message: /cm\.yaml \(ConfigMap istio-system\/istio\): data\.mesh: expected a YAML mapping/ });
});

test('YAML that does not parse names the file and line', async (t) => {
  const f = join(tmp, 'broken.yaml');
  writeFileSync(f, 'apiVersion: v1\nkind: Service\nmetadata: {name: [x\n');
  await t.throwsAsync(readCustomerFiles([f]), { message: /broken\.yaml:\d+: not YAML or JSON/ });
  await t.throwsAsync(readCustomerFiles([join(tmp, 'missing.yaml')]), { message: /missing\.yaml: no such file/ });
});

test('seed 002 with three hundred unrelated Services: the foreign ServiceEntry and the Sidecar are kept, same-port TCP Services are not', (t) => {
  const r = relevantObjects(input.objects, pod, [to('10.10.13.110:3306')]);
  t.deepEqual(r.kept.map((k) => ref(k.object)).sort(), ['ServiceEntry demo/mysql-demo', 'Sidecar demo1/default']);
  t.regex(
    r.kept.find((k) => k.object.kind === 'ServiceEntry')!.reasons[0]!,
    /without addresses .* 0\.0\.0\.0_3306, which takes every address on the port/,
  );
  const sameport = Array.from({ length: 12 }, (_, k) => k * 25).map((i) => `Service team-${i % 10}/db-proxy-${i}`);
  t.deepEqual(r.dropped.map((d) => d.what).sort(), ['Service demo1/mysql-server', ...sameport].sort());
  t.regex(r.dropped[0]!.why, /listener is on 10\.\d+\.\d+\.\d+ only/);
  t.true(r.elsewhere >= 285);
});

test("the destination's own Service is kept by name or ClusterIP, with its endpoints", (t) => {
  const byName = relevantObjects(input.objects, pod, [to('mysql-server.demo1.svc.cluster.local:3306')]);
  t.true(byName.kept.some((k) => ref(k.object) === 'Service demo1/mysql-server' && /own Service/.test(k.reasons[0]!)));
  t.true(
    byName.kept.some((k) => k.object.kind === 'EndpointSlice' && /endpoints of the kept Service demo1\/mysql-server/.test(k.reasons[0]!)),
  );
  t.is(byName.resolved.get('mysql-server.demo1.svc.cluster.local:3306'), '10.68.228.107');
  const byIp = relevantObjects(input.objects, pod, [to('10.68.228.107:3306')]);
  t.true(byIp.kept.some((k) => ref(k.object) === 'Service demo1/mysql-server' && /its ClusterIP is 10\.68\.228\.107/.test(k.reasons[0]!)));
});

test('HTTP ports, CIDRs and headless endpoints on the port are kept; ExternalName and endpoint-less headless are not; exportTo and a Sidecar hide objects', (t) => {
  const p = objectsOf(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'c', namespace: 'app', labels: { app: 'c' } },
      spec: { containers: [{ name: 'c' }] },
      status: { podIP: '10.1.0.5' },
    },
    svc('web', 'ops', { clusterIP: '10.96.0.9', ports: [{ name: 'http-web', port: 7000 }] }),
    svc('db', 'ops', { clusterIP: 'None', ports: [{ name: 'tcp', port: 7000 }] }),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'db', namespace: 'ops' },
      subsets: [{ addresses: [{ ip: '10.0.0.6' }], ports: [{ name: 'tcp', port: 7000 }] }],
    },
    svc('other-db', 'ops', { clusterIP: 'None', ports: [{ name: 'tcp', port: 7000 }] }),
    svc('alias', 'ops', { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'http', port: 7000 }] }),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'corp-net', namespace: 'ops' },
      spec: { hosts: ['corp.internal'], addresses: ['10.200.0.0/16'], ports: [{ number: 7000, name: 'tcp', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'http-vip', namespace: 'ops' },
      spec: { hosts: ['h.corp'], addresses: ['10.0.0.6'], ports: [{ number: 7000, name: 'http', protocol: 'HTTP' }] },
    },
    svc('private', 'ops', { clusterIP: 'None', ports: [{ port: 7000 }] }, { 'networking.istio.io/exportTo': '.' }),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'hidden', namespace: 'other' },
      spec: { hosts: ['h.example'], ports: [{ number: 7000, name: 'tcp', protocol: 'TCP' }], resolution: 'DNS' },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: 'app' },
      spec: { egress: [{ hosts: ['./*', 'ops/*'] }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'ops' },
      spec: {
        hosts: ['web.ops.svc.cluster.local'],
        http: [{ timeout: '3s', route: [{ destination: { host: 'web.ops.svc.cluster.local' } }] }],
      },
    },
  );
  const r = relevantObjects(p, p[0]!, [to('10.0.0.6:7000')]);
  const kept = new Map(r.kept.map((k) => [ref(k.object), k.reasons.join('; ')]));
  t.regex(
    kept.get('Service ops/web')!,
    /declares port 7000 \("http-web"\) as HTTP: Istio gives every sidecar one 0\.0\.0\.0_7000 listener/,
  );
  t.regex(kept.get('Service ops/db')!, /a headless Service with port 7000 .*: its listeners are one per endpoint, and 10\.0\.0\.6 is one/);
  t.regex(
    kept.get('ServiceEntry ops/corp-net')!,
    /its CIDR 10\.200\.0\.0\/16 makes a 0\.0\.0\.0_7000 listener \(a chain for the CIDR, passthrough for other addresses\)/,
  );
  t.regex(
    kept.get('ServiceEntry ops/http-vip')!,
    /declares port 7000 as HTTP: Istio gives every sidecar one 0\.0\.0\.0_7000 listener/,
    'HTTP wins over a matching address',
  );
  t.regex(kept.get('VirtualService ops/web')!, /applies to web\.ops\.svc\.cluster\.local, a kept host/);
  t.regex(kept.get('Sidecar app/default')!, /the Sidecar that applies to app\/c/);
  const dropped = new Map(r.dropped.map((d) => [d.what, d.why]));
  t.regex(dropped.get('Service ops/other-db')!, /a headless Service: its 7000 listeners are one per endpoint \(it has none\)/);
  t.regex(dropped.get('Service ops/alias')!, /an ExternalName Service: Istio builds it no listener/);
  t.regex(dropped.get('Service ops/private')!, /not visible to the pod: exportTo \["\."\] hides it from namespace app/);
  t.regex(dropped.get('ServiceEntry other/hidden')!, /not visible to the pod: Sidecar app\/default's egress hosts leave it out/);
});

test('the scenario written loads, carries the kept objects and the mesh config verbatim, keeps no secret, certificate or injector bookkeeping, and says why each object is there', (t) => {
  const relevance = relevantObjects(input.objects, pod, [to('10.10.13.110:3306')]);
  const made = importedScenario({
    name: 'import-mysql-client',
    pod,
    destinations: [{ ...to('10.10.13.110:3306'), kind: 'mysql' }],
    relevance,
    meshConfig: input.meshConfig!.value,
    istio: '1.30',
    inputs: ['objects.yaml'],
  });
  const file = join(tmp, 'import-mysql-client.yaml');
  writeFileSync(file, made.yaml);
  const loaded = loadScenarioFile(file).scenario;
  t.deepEqual(
    loaded.workloads.map((w) => [w.name, w.namespace, w.ip, w.sidecar]),
    [['mysql-client', 'demo1', '172.20.0.31', true]],
  );
  // Every kept object, as sent: the ServiceEntry keeps its resolution DNS and no addresses, the Sidecar its spec.
  t.deepEqual(
    loaded.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
    relevance.kept.map((k) => ref(k.object)),
  );
  t.deepEqual(loaded.objects, [rawItem('Sidecar', 'demo1', 'default'), rawItem('ServiceEntry', 'demo', 'mysql-demo')].map(authored));
  t.is((loaded.objects[1]!.spec as { resolution: string }).resolution, 'DNS');
  t.is((loaded.objects[1]!.spec as { addresses?: string[] }).addresses, undefined);
  t.deepEqual(loaded.meshConfig, input.meshConfig!.value, 'the mesh config whole');
  t.false('mesh' in (parseYaml(made.yaml) as object), 'no mesh: shorthand');
  t.deepEqual(
    loaded.externalServers.map((s) => [s.kind, s.addresses, s.ports]),
    [['mysql', ['10.10.13.110'], [3306]]],
  );
  t.deepEqual(
    loaded.probes.map((p) => [p.kind, p.from, p.expect.client]),
    [['mysql', 'mysql-client', undefined]],
  );
  for (const secret of [
    SECRET_TEXT,
    CERT_TEXT,
    'sidecar.istio.io/status',
    'last-applied',
    'db-credentials',
    'ISTIO_META_TOKEN',
    'VAULT_TOKEN',
    'mountPath',
  ])
    t.false(made.yaml.includes(secret), secret);
  t.regex(made.yaml, /proxyStatsMatcher/, 'the rest of proxy.istio.io/config is kept');
  t.true(made.notes.some((n) => /proxyMetadata \(istio-proxy's environment\) is left out/.test(n)));
  t.false(
    made.notes.some((n) => FORMAT_DROP.test(n)),
    made.notes.join('\n'),
  );
  t.notRegex(made.yaml, FORMAT_DROP);
  t.regex(made.yaml, /# kept: a ServiceEntry without addresses with port 3306 as TCP/);
  t.regex(made.yaml, /# left out Service team-0\/db-proxy-0: its 3306 listener is on/);
});

test("the destination's own Service arrives with its selector, ClusterIP and EndpointSlice as sent; the pods behind it are named as not imported", (t) => {
  const d = to('mysql-server.demo1.svc.cluster.local:3306');
  const relevance = relevantObjects(input.objects, pod, [d]);
  const made = importedScenario({
    name: 'import-mysql-server',
    pod,
    destinations: [{ ...d, kind: 'mysql' }],
    relevance,
    meshConfig: input.meshConfig!.value,
    istio: '1.30',
    inputs: ['objects.yaml'],
  });
  const file = join(tmp, 'import-mysql-server.yaml');
  writeFileSync(file, made.yaml);
  const objects = loadScenarioFile(file).scenario.objects;
  const slice = rawItems.find(
    (o) => o.kind === 'EndpointSlice' && (o.metadata.labels as Record<string, string>)['kubernetes.io/service-name'] === 'mysql-server',
  )!;
  t.deepEqual(
    objects.filter((o) => o.kind === 'Service' || o.kind === 'EndpointSlice'),
    [rawItem('Service', 'demo1', 'mysql-server'), slice].map(authored),
  );
  const svcSpec = objects.find((o) => o.kind === 'Service')!.spec as { clusterIP: string; selector: Record<string, string> };
  t.is(svcSpec.clusterIP, '10.68.228.107');
  t.deepEqual(svcSpec.selector, { app: 'mysql-server' });
  t.true(
    made.notes.some((n) => /Service demo1\/mysql-server: its endpoints are Pods that are not imported \(demo1\/mysql-server;/.test(n)),
  );
  t.true(made.notes.some((n) => /a Service's ClusterIP/.test(n)));
  t.false(made.notes.some((n) => FORMAT_DROP.test(n) || /selector is left out/.test(n)));
});

test('a bug-report archive is read from its cluster dumps; its secrets file is never read', async (t) => {
  const root = join(tmp, 'br');
  mkdirSync(join(root, 'bug-report', 'cluster'), { recursive: true });
  // As istioctl writes them: the Kubernetes objects (pods included) in k8s-resources, Istio's in crs.
  const items = (parseYaml(cluster.listYaml) as { items: Array<{ apiVersion: string }> }).items;
  const list = (xs: unknown[]) => stringify({ apiVersion: 'v1', kind: 'List', items: xs });
  writeFileSync(
    join(root, 'bug-report', 'cluster', 'k8s-resources'),
    list([...items.filter((o) => !o.apiVersion.startsWith('networking.istio.io')), parseYaml(cluster.podYaml)]),
  );
  writeFileSync(join(root, 'bug-report', 'cluster', 'crs'), list(items.filter((o) => o.apiVersion.startsWith('networking.istio.io'))));
  writeFileSync(
    join(root, 'bug-report', 'cluster', 'secrets'),
    `apiVersion: v1\nkind: Secret\nmetadata: {name: leaked, namespace: x}\ndata: {token: ${SECRET_TEXT}}\n`,
  );
  const archive = join(tmp, 'bug-report.tar.gz');
  await createTar({ gzip: true, file: archive, cwd: root }, ['bug-report']);
  const docs = await readCustomerFiles([archive]);
  t.deepEqual([...new Set(docs.map((d) => d.file))].sort(), [
    'bug-report.tar.gz:bug-report/cluster/crs',
    'bug-report.tar.gz:bug-report/cluster/k8s-resources',
  ]);
  t.false(JSON.stringify(docs).includes('leaked'));
  const read = customerObjects([...docs, ...yamlDocs(cluster.podYaml, 'pod.yaml')]);
  t.true(read.objects.some((o) => o.kind === 'ServiceEntry' && o.meta.name === 'mysql-demo'));
  t.deepEqual(
    read.skipped.filter((s) => /second copy/.test(s.why)).map((s) => s.what),
    ['Pod demo1/mysql-client in pod.yaml'],
    'the pod sent twice is read once',
  );
  const notArchive = join(tmp, 'empty.tar.gz');
  writeFileSync(join(tmp, 'notes.txt'), 'not a bug report');
  await createTar({ gzip: true, file: notArchive, cwd: tmp }, ['notes.txt']);
  await t.throwsAsync(readCustomerFiles([notArchive]), { message: /no cluster\/k8s-resources or cluster\/crs in it/ });
});

test('--record writes what the run saw: client, conntrack, stats that tell the path (not per worker), the path, and who saw it', (t) => {
  const text =
    'name: x\n# a comment kept\nprobes:\n  - name: p1\n    from: c\n    mysql: { host: 10.10.13.110 }\n    expect: {}\n  - name: p2\n    from: c\n    tcp: { host: 1.2.3.4, port: 1 }\n    expect: { client: { connect: ok } }\n';
  const client = parseConntrack(
    'tcp      6 10 CLOSE src=172.20.0.31 dst=10.10.13.110 sport=40000 dport=3306 src=127.0.0.1 dst=172.20.0.31 sport=15001 dport=40000 [ASSURED] mark=0 use=1',
  )[0]!;
  const outcome = {
    backend: 'netns/envoy',
    sidecar: { engine: 'envoy', describe: 'real sidecar: Istio 1.31-dev with upstream Envoy 1.40.0', statsListEveryName: true },
    probes: [
      {
        probe: { name: 'p1' },
        result: { kind: 'mysql', connect: 'ok', errorClass: 'closed', end: 'eof', receivedBytes: 0 },
        legs: { client, others: [] },
        statsDiff: {
          'listener.0.0.0.0_3306.downstream_cx_total': 1,
          'listener.0.0.0.0_3306.worker_0.downstream_cx_total': 1,
          'cluster.outbound|3306||mysql.demo;.upstream_cx_none_healthy': 1,
          'server.uptime': 3,
        },
        istioPath: { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' },
      },
      { probe: { name: 'p2' }, error: 'did not run' },
    ],
  } as unknown as ScenarioOutcome;
  const { text: out, recorded } = recordIntoScenario(text, outcome, '2026-12-03');
  t.deepEqual(recorded, ['p1']);
  t.regex(out, /# a comment kept/);
  const probes = (parseYaml(out) as { probes: Array<{ expect: Record<string, unknown> }> }).probes;
  t.deepEqual(probes[0]!.expect, {
    client: { connect: 'ok', errorClass: 'closed' },
    conntrack: { path: 'redirected', legs: 1, upstream: 'none' },
    stats: { 'cluster.outbound|3306||mysql.demo;.upstream_cx_none_healthy': '+1', 'listener.0.0.0.0_3306.downstream_cx_total': '+1' },
    path: { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' },
    basis: 'observed',
    note: 'recorded by egress-lab --record on 2026-12-03 with real sidecar: Istio 1.31-dev with upstream Envoy 1.40.0',
  });
  t.deepEqual(probes[1]!.expect, { client: { connect: 'ok' } }, 'a probe that did not run keeps its expectations');
});

test('Lists inside Lists are read, named by their path', (t) => {
  const r = customerObjects([
    {
      file: 'l.yaml',
      value: {
        apiVersion: 'v1',
        kind: 'List',
        items: [{ apiVersion: 'v1', kind: 'List', items: [svc('a', 'x', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] })] }],
      },
    },
  ]);
  t.deepEqual(
    r.objects.map((o) => [o.source, o.meta.name]),
    [['l.yaml item 0.0', 'a']],
  );
  t.throws(
    () =>
      customerObjects([
        { file: 'l.yaml', value: { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'List', items: [7] }] } },
      ]),
    { message: /^l\.yaml item 0\.0: expected a Kubernetes object/ },
  );
  t.deepEqual(
    customerObjects([{ file: 'p.yaml', value: { apiVersion: 'v1', kind: 'toString', metadata: { name: 'x' } } }]).skipped.map((x) => x.why),
    ['a toString does not decide where a sidecar sends egress traffic'],
  );
});

test('names that are not DNS labels, compound timeouts, retries, SCTP and what the API server sets: objects arrive as sent, less server metadata; IPv6-only Services and endpoints are left out, each with a note', (t) => {
  const server = {
    uid: '5e6f7a8b-0000-4000-8000-000000000001',
    resourceVersion: '4711',
    generation: 3,
    creationTimestamp: '2026-01-02T03:04:05Z',
    managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
    selfLink: '/api/v1/x',
  };
  const raws: Raw[] = [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'c', namespace: 'app' },
      spec: {
        containers: [
          { name: 'c', ports: [{ name: 'https', containerPort: 8443 }] },
          { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.30.3', ports: [{ name: 'http-envoy-prom', containerPort: 15090 }] },
        ],
      },
      status: { podIP: '10.1.0.5' },
    },
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'ServiceEntry',
      metadata: {
        name: 'api.stripe.com',
        namespace: 'app',
        labels: { team: 'payments' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"secret":"x"}', owner: 'payments' },
        ...server,
      },
      spec: {
        hosts: ['api.stripe.com'],
        addresses: ['fd00::1', '10.9.9.9'],
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
        resolution: 'DNS',
      },
      status: { conditions: [{ type: 'Reconciled', status: 'True' }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'api.stripe.com', namespace: 'app', ...server },
      spec: {
        hosts: ['api.stripe.com'],
        http: [
          {
            match: [{ headers: { 'x-canary': { exact: 'yes' } } }],
            timeout: '1m30s',
            retries: { attempts: 3, perTryTimeout: '2s' },
            route: [{ destination: { host: 'api.stripe.com' } }],
          },
        ],
        tls: [{ match: [{ port: 443, sniHosts: ['api.stripe.com'] }], route: [{ destination: { host: 'api.stripe.com' } }] }],
      },
    },
    svc('sctp', 'app', {
      clusterIP: '10.96.0.7',
      clusterIPs: ['10.96.0.7', 'fd00:10:96::7'],
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
      selector: { app: 'web' },
      ports: [
        { name: 'tcp-a', port: 443, targetPort: 'https' },
        { name: 'sctp', port: 443, protocol: 'SCTP' },
      ],
    }),
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'sctp-4x7kq',
        namespace: 'app',
        labels: { 'kubernetes.io/service-name': 'sctp' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'sctp', uid: 'u' }],
        ...server,
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.2.0.9'], conditions: { ready: true } }],
      ports: [{ name: 'tcp-a', port: 8443 }],
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'sctp-9zz2m', namespace: 'app', labels: { 'kubernetes.io/service-name': 'sctp' } },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['fd00:2::9'], conditions: { ready: true } }],
      ports: [{ name: 'tcp-a', port: 8443 }],
    },
    svc('v6', 'app', { clusterIP: 'fd00:10:96::8', ipFamilies: ['IPv6'], ports: [{ name: 'http', port: 443 }] }),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'v6', namespace: 'app' },
      subsets: [{ addresses: [{ ip: 'fd00:2::10' }], ports: [{ name: 'http', port: 443 }] }],
    },
  ];
  const objs = objectsOf(...raws);
  const pod0 = objs[0]!;
  t.deepEqual(
    objs.map((o) => o.apiVersion),
    raws.map((r) => r.apiVersion),
    'apiVersion as sent',
  );
  const d = { ...to('10.96.0.7:443'), kind: 'https' as const };
  const relevance = relevantObjects(objs, pod0, [d, to('api.stripe.com:443')]);
  t.deepEqual(relevance.kept.map((k) => ref(k.object)).sort(), [
    'EndpointSlice app/sctp-4x7kq',
    'EndpointSlice app/sctp-9zz2m',
    'Endpoints app/v6',
    'Service app/sctp',
    'Service app/v6',
    'ServiceEntry app/api.stripe.com',
    'VirtualService app/api.stripe.com',
  ]);
  const made = importedScenario({
    name: 'import-c',
    pod: pod0,
    destinations: [d],
    relevance,
    istio: '1.30',
    inputs: ['/home/me/secret-dir/x.yaml'],
  });
  const file = join(tmp, 'import-c.yaml');
  writeFileSync(file, made.yaml);
  const s = loadScenarioFile(file).scenario;
  const byRef = new Map(raws.map((r) => [`${r.kind} ${r.metadata.namespace}/${r.metadata.name}`, r]));
  const written = [
    'ServiceEntry app/api.stripe.com',
    'Service app/sctp',
    'VirtualService app/api.stripe.com',
    'EndpointSlice app/sctp-4x7kq',
  ];
  t.deepEqual(s.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort(), [...written].sort());
  for (const r of written)
    t.deepEqual(
      s.objects.find((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` === r),
      authored(byRef.get(r)!),
      r,
    );
  const se = s.objects.find((o) => o.kind === 'ServiceEntry')!;
  t.is(se.apiVersion, 'networking.istio.io/v1alpha3');
  t.deepEqual(se.metadata.annotations, { owner: 'payments' }, 'the last-applied annotation is dropped, the others kept');
  t.deepEqual(se.metadata.labels, { team: 'payments' });
  for (const k of Object.keys(server).filter((k) => k !== 'creationTimestamp')) t.false(k in se.metadata, k);
  // istiod orders conflicting objects by their age: the timestamp arrives as sent.
  t.is(se.metadata.creationTimestamp, server.creationTimestamp);
  t.false('status' in se);
  t.false('ownerReferences' in s.objects.find((o) => o.kind === 'EndpointSlice')!.metadata);
  const http = (s.objects.find((o) => o.kind === 'VirtualService')!.spec as { http: Array<Record<string, unknown>> }).http[0]!;
  t.is(http.timeout, '1m30s', 'the timeout as written');
  t.deepEqual(http.retries, { attempts: 3, perTryTimeout: '2s' });
  t.deepEqual(http.match, [{ headers: { 'x-canary': { exact: 'yes' } } }]);
  t.is(
    (s.objects.find((o) => o.kind === 'Service')!.spec as { clusterIP: string }).clusterIP,
    '10.96.0.7',
    'a ClusterIP Service keeps its clusterIP',
  );
  t.deepEqual(s.meshConfig, {}, 'no mesh config sent, no Sidecar kept: none written');
  t.deepEqual(
    s.workloads.map((w) => [w.name, w.sidecar, w.ports]),
    [['c', true, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }]]],
    "the client pod is a workload with its own containers' ports (the Service's targetPort https names one)",
  );
  t.false(made.yaml.includes('/home/me'), 'input paths are named by file name only');
  t.false(made.yaml.includes('{"secret":"x"}'));
  for (const n of [
    /Service app\/v6 is left out: it is IPv6-only \(fd00:10:96::8\) and the lab is IPv4/,
    /Endpoints app\/v6 is left out with Service app\/v6/,
    /EndpointSlice app\/sctp-9zz2m is left out: its addressType is IPv6/,
    /ServiceEntry app\/api\.stripe\.com: its IPv6 addresses fd00::1 are kept as sent, but the lab is IPv4/,
    /Service app\/sctp: its IPv6 ClusterIP fd00:10:96::7 is kept, but the lab is IPv4/,
    /Service app\/sctp: port 443 \(SCTP\) is kept, but the lab's probes and servers are TCP and UDP only/,
    /no mesh config was sent .*: Istio's defaults are assumed, outbound policy ALLOW_ANY included/,
  ])
    t.true(
      made.notes.some((x) => n.test(x)),
      String(n),
    );
  t.false(
    made.notes.some((x) => FORMAT_DROP.test(x) || /retries|targetPort|selector/.test(x)),
    made.notes.join('\n'),
  );
});

test("the mesh config is written whole but for defaultConfig.proxyMetadata; Istio's default policy is written out when the lab's own policy Sidecar would replace the customer's", (t) => {
  const objs = objectsOf(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'c', namespace: 'app' },
      spec: { containers: [{ name: 'c' }] },
      status: { podIP: '10.1.0.5' },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: 'istio-system' },
      spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    },
  );
  const d = { ...to('10.2.0.9:443'), kind: 'https' as const };
  const relevance = relevantObjects(objs, objs[0]!, [d]);
  t.deepEqual(
    relevance.kept.map((k) => ref(k.object)),
    ['Sidecar istio-system/default'],
  );
  const mesh = {
    rootNamespace: 'istio-system',
    enableAutoMtls: true,
    defaultConfig: { holdApplicationUntilProxyStarts: true, proxyMetadata: { VAULT_TOKEN: SECRET_TEXT } },
    extensionProviders: [{ name: 'otel', opentelemetry: { service: 'otel.observability.svc.cluster.local', port: 4317 } }],
  };
  const made = importedScenario({
    name: 'import-m',
    pod: objs[0]!,
    destinations: [d],
    relevance,
    meshConfig: mesh,
    istio: '1.30',
    inputs: ['x'],
  });
  const file = join(tmp, 'import-m.yaml');
  writeFileSync(file, made.yaml);
  const s = loadScenarioFile(file).scenario;
  t.deepEqual(s.meshConfig, {
    ...mesh,
    defaultConfig: { holdApplicationUntilProxyStarts: true },
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
  });
  t.false(made.yaml.includes(SECRET_TEXT));
  t.true(made.notes.some((n) => /mesh config's defaultConfig\.proxyMetadata .* is left out/.test(n)));
  t.regex(made.yaml, /# The mesh config .*Istio's default outbound policy written out/);
  // Without any mesh config sent, the same: the root namespace's Sidecar stays the one that applies.
  const bare = importedScenario({ name: 'import-m', pod: objs[0]!, destinations: [d], relevance, istio: '1.30', inputs: ['x'] });
  t.deepEqual((parseYaml(bare.yaml) as { meshConfig: unknown }).meshConfig, { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } });
});

test('the seed era runs only on the sidecar model, which reads no verbatim object: an import that keeps objects there is refused, saying what to pass', (t) => {
  const relevance = relevantObjects(input.objects, pod, [to('10.10.13.110:3306')]);
  const req = {
    name: 'import-old',
    pod,
    destinations: [{ ...to('10.10.13.110:3306'), kind: 'mysql' as const }],
    relevance,
    istio: '1.5',
    inputs: ['objects.yaml'],
  };
  t.throws(() => importedScenario(req), {
    instanceOf: ImportError,
    message: /Istio 1\.5 is the seed era, which runs only on the sidecar model, .*: pass --istio 1\.25-1\.31 to run them on real Istio/,
  });
  const nothingKept = importedScenario({ ...req, relevance: { ...relevance, kept: [] } });
  t.notRegex(nothingKept.yaml, /^objects:/m);
  const file = join(tmp, 'import-old.yaml');
  writeFileSync(file, nothingKept.yaml);
  t.is(loadScenarioFile(file).istio.era, 'legacy', 'with nothing verbatim, the model runs it');
});

/**
 * `egress-lab import`'s relevance rules against real Istio, no root: the kept objects give the pod
 * the same path as all of the customer's objects, by Istio's own simulation over what istiod
 * generates for each; the rules dropped nothing that mattered. The objects reach istiod verbatim.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { customerObjects, type InputDocument } from '../../harness/import/customerObjects.ts';
import { relevantObjects, type Destination, type Relevance } from '../../harness/import/relevance.ts';
import { importedScenario } from '../../harness/import/toScenario.ts';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import { simulateOffline, writeControlPlaneInputs } from '../../harness/istio/controlPlane.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { customerCluster } from '../helpers/customerCluster.ts';
import { authored, FORMAT_DROP, objectRef, type RawObject } from '../helpers/importedObjects.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-import-it-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const seed002 = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
const made002 = customerCluster(seed002, 'mysql-client', 3306);
const cluster = made002;
const listItems = (parseYaml(made002.listYaml) as { items: RawObject[] }).items;
const yamlDocs = (text: string, file: string): InputDocument[] =>
  parseAllDocuments(text).map((d): InputDocument => ({ file, value: d.toJS() }));
const input = customerObjects([
  ...yamlDocs(cluster.listYaml, 'objects.yaml'),
  ...yamlDocs(cluster.podYaml, 'pod.yaml'),
  ...yamlDocs(cluster.meshConfigYaml, 'istio.yaml'),
]);
const pod = input.objects.find((o) => o.kind === 'Pod' && o.meta.name === 'mysql-client')!;

function scenarioFile(t: ExecutionContext, name: string, relevance: Relevance, destinations: Destination[]): string {
  const made = importedScenario({
    name,
    pod,
    destinations: destinations.map((d) => ({ ...d, kind: 'mysql' as const })),
    relevance,
    meshConfig: input.meshConfig!.value,
    istio: '1.30',
    inputs: ['objects.yaml'],
  });
  t.false(
    made.notes.some((n) => FORMAT_DROP.test(n)),
    made.notes.join('\n'),
  );
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, made.yaml);
  return file;
}

/** The scenario carries the kept objects as sent (less what the API server sets), and the mesh config whole. */
function carriedVerbatim(t: ExecutionContext, file: string, relevance: Relevance, items: RawObject[], meshConfig: unknown): void {
  const s = loadScenarioFile(file).scenario;
  const raw = new Map(items.map((o) => [objectRef(o), o]));
  const kept = relevance.kept.map((k) => `${k.object.kind} ${k.object.meta.namespace}/${k.object.meta.name}`);
  t.deepEqual(
    s.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
    kept,
  );
  t.deepEqual(
    s.objects,
    kept.map((k) => authored(raw.get(k)!)),
  );
  t.deepEqual(s.meshConfig, meshConfig);
}

test("the kept objects give the pod Istio's path of all the customer's objects, for each destination", async (t) => {
  const destinations: Destination[] = ['10.10.13.110:3306', '10.68.228.107:3306'].map((text) => ({
    host: text.split(':')[0]!,
    port: 3306,
    text,
  }));
  const pruned = relevantObjects(input.objects, pod, destinations);
  // Everything: every object the import could have kept (Istio applies visibility itself).
  const all: Relevance = { ...pruned, kept: input.objects.filter((o) => o.kind !== 'Pod').map((object) => ({ object, reasons: ['all'] })) };
  t.true(all.kept.length >= pruned.kept.length + 100, `${all.kept.length} objects in all, ${pruned.kept.length} kept`);
  const paths = async (file: string) => {
    const s = loadScenarioFile(file).scenario;
    const dir = writeControlPlaneInputs(mkdtempSync(join(tmp, 'inputs-')), controlPlaneInputs(s));
    const w = s.workloads[0]!;
    return simulateOffline(
      realParts().labIstiod,
      dir,
      `${w.namespace}/${w.name}`,
      destinations.map((d) => ({ address: d.host, port: d.port, protocol: 'tcp', tls: false })),
    );
  };
  const allFile = scenarioFile(t, 'import-all', all, destinations);
  const keptFile = scenarioFile(t, 'import-kept', pruned, destinations);
  carriedVerbatim(t, allFile, all, listItems, input.meshConfig!.value);
  carriedVerbatim(t, keptFile, pruned, listItems, input.meshConfig!.value);
  const [fromAll, fromKept] = await Promise.all([paths(allFile), paths(keptFile)]);
  t.deepEqual(fromKept, fromAll);
  t.deepEqual(fromAll[0], { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' });
  t.deepEqual(fromAll[1], { listener: '10.68.228.107_3306', cluster: 'outbound|3306||mysql-server.demo1.svc.cluster.local' });
});

/** Objects on the destination's port that each exercise one rule: the path of the kept ones must still be that of all. */
const adversarial = {
  file: 'adversarial.yaml',
  value: {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web-3306', namespace: 'team-1' },
        spec: { clusterIP: '10.96.50.1', ports: [{ name: 'http-web', port: 3306 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'alias', namespace: 'team-2' },
        spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tcp', port: 3306 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db-headless', namespace: 'team-3' },
        spec: { clusterIP: 'None', ports: [{ name: 'tcp-db', port: 3306 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'db-headless', namespace: 'team-3' },
        subsets: [{ addresses: [{ ip: '10.10.13.111' }], ports: [{ name: 'tcp-db', port: 3306 }] }],
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'empty-headless', namespace: 'team-3' },
        spec: { clusterIP: 'None', ports: [{ name: 'tcp-db', port: 3306 }] },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'corp-net', namespace: 'team-4' },
        spec: {
          hosts: ['corp.internal'],
          addresses: ['10.10.0.0/16'],
          ports: [{ number: 3306, name: 'tcp', protocol: 'TCP' }],
          resolution: 'NONE',
        },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'private', namespace: 'team-5' },
        spec: { hosts: ['private.db'], exportTo: ['.'], ports: [{ number: 3306, name: 'tcp', protocol: 'TCP' }], resolution: 'DNS' },
      },
    ],
  },
};

test("with objects that exercise each rule on the port, the kept ones still give Istio's path of all of them", async (t) => {
  const all = customerObjects([
    ...yamlDocs(cluster.listYaml, 'objects.yaml'),
    ...yamlDocs(cluster.podYaml, 'pod.yaml'),
    ...yamlDocs(cluster.meshConfigYaml, 'istio.yaml'),
    adversarial,
  ]);
  const client = all.objects.find((o) => o.kind === 'Pod' && o.meta.name === 'mysql-client')!;
  const destinations: Destination[] = ['10.10.13.110:3306', '10.10.13.111:3306', '10.68.228.107:3306', '198.51.100.9:3306'].map((text) => ({
    host: text.split(':')[0]!,
    port: 3306,
    text,
  }));
  const pruned = relevantObjects(all.objects, client, destinations);
  const kept = new Set(pruned.kept.map((k) => `${k.object.kind} ${k.object.meta.namespace}/${k.object.meta.name}`));
  for (const k of ['Service team-1/web-3306', 'Service team-3/db-headless', 'ServiceEntry team-4/corp-net']) t.true(kept.has(k), k);
  for (const k of ['Service team-2/alias', 'Service team-3/empty-headless', 'ServiceEntry team-5/private']) t.false(kept.has(k), k);
  const everything: Relevance = {
    ...pruned,
    kept: all.objects.filter((o) => o.kind !== 'Pod').map((object) => ({ object, reasons: ['all'] })),
  };
  const make = (name: string, r: Relevance) => {
    const made = importedScenario({
      name,
      pod: client,
      destinations: destinations.map((d) => ({ ...d, kind: 'mysql' as const })),
      relevance: r,
      meshConfig: all.meshConfig!.value,
      istio: '1.30',
      inputs: ['x'],
    });
    t.false(
      made.notes.some((n) => FORMAT_DROP.test(n)),
      made.notes.join('\n'),
    );
    const file = join(tmp, `${name}.yaml`);
    writeFileSync(file, made.yaml);
    carriedVerbatim(t, file, r, [...listItems, ...adversarial.value.items], all.meshConfig!.value);
    return file;
  };
  const paths = async (file: string) => {
    const s = loadScenarioFile(file).scenario;
    const dir = writeControlPlaneInputs(mkdtempSync(join(tmp, 'inputs-')), controlPlaneInputs(s));
    return simulateOffline(
      realParts().labIstiod,
      dir,
      'demo1/mysql-client',
      destinations.map((d) => ({ address: d.host, port: d.port, protocol: 'tcp', tls: false })),
    );
  };
  const [fromAll, fromKept] = await Promise.all([paths(make('import-adv-all', everything)), paths(make('import-adv-kept', pruned))]);
  t.deepEqual(fromKept, fromAll);
  t.true(
    fromAll.every((m) => m.listener !== undefined),
    JSON.stringify(fromAll),
  );
});

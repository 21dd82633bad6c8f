/** What a scenario says that the sidecar model does not model (harness/model/unmodelled.ts). */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmodelled } from '../../harness/model/unmodelled.ts';
import { loadScenarioFile, parseScenario, type LoadedScenario } from '../../harness/scenario/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'egress-lab-unmodelled-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function load(extra: string, istio = '1.30'): LoadedScenario {
  return parseScenario(
    `name: unmodelled
description: unit test
istio: "${istio}"
workloads:
  - { name: client, namespace: demo, ip: 10.64.192.20 }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
${extra}`,
    join(dir, 'unmodelled.yaml'),
  );
}

test('nothing, for the shorthand the model reads (services, endpoints, ServiceEntries, VirtualServices, the policy)', (t) => {
  t.deepEqual(unmodelled(load('mesh:\n  outboundTrafficPolicy: REGISTRY_ONLY\n')), []);
  for (const name of [
    'redis-7000',
    'redis-7000-modern',
    'redis-7000-fix-service-endpoints',
    'registry-only-fix-serviceentry',
    'virtualservice-timeout',
  ])
    t.deepEqual(unmodelled(loadScenarioFile(name)), [], name);
});

test('every verbatim object, by kind/namespace/name and where it was written', (t) => {
  writeFileSync(
    join(dir, 'se.yaml'),
    `---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: db }\nspec: { hosts: [db.example.com], ports: [{ number: 3306, name: tcp, protocol: TCP }] }\n`,
  );
  const loaded = load(`objects:
  - { apiVersion: v1, kind: Service, metadata: { name: web, namespace: demo }, spec: { clusterIP: 10.96.0.5, ports: [{ port: 80 }] } }
  - { apiVersion: v1, kind: Namespace, metadata: { name: demo } }
manifests: [se.yaml]
`);
  t.deepEqual(unmodelled(loaded), [
    'Service demo/web (objects[0])',
    'Namespace demo (objects[1])',
    'ServiceEntry default/db (manifests[0] (se.yaml, document 1))',
  ]);
});

test("the shorthand's DestinationRules and Sidecars, which only real Istio acts on", (t) => {
  const loaded = load(`mesh:
  destinationRules:
    - { name: dr, namespace: demo, spec: { host: db.example.com } }
  sidecars:
    - { name: sc, namespace: demo, spec: { workloadSelector: { labels: { app: client } } } }
`);
  t.deepEqual(unmodelled(loaded), ['DestinationRule demo/dr (mesh.destinationRules)', 'Sidecar demo/sc (mesh.sidecars)']);
});

test('meshConfig: every key, except an outboundTrafficPolicy that is only a mode the model has', (t) => {
  t.deepEqual(unmodelled(load('meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n')), []);
  t.deepEqual(unmodelled(load('meshConfig:\n  outboundTrafficPolicy: { mode: ALLOW_ANY }\n')), []);
  t.deepEqual(unmodelled(load('meshConfig:\n  outboundTrafficPolicy: { mode: SOMETHING_NEW }\n')), ['meshConfig.outboundTrafficPolicy']);
  t.deepEqual(unmodelled(load('meshConfig:\n  outboundTrafficPolicy: {}\n')), ['meshConfig.outboundTrafficPolicy']);
  t.deepEqual(
    unmodelled(load('meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY, egressProxy: { host: egress.example.com } }\n')),
    ['meshConfig.outboundTrafficPolicy'],
  );
  t.deepEqual(unmodelled(load('meshConfig:\n  accessLogFile: /dev/stdout\n  enableAutoMtls: false\n')), [
    'meshConfig.accessLogFile',
    'meshConfig.enableAutoMtls',
  ]);
});

test('istiod.env: every flag, whatever its value', (t) => {
  t.deepEqual(unmodelled(load('istiod:\n  env: { PILOT_ENABLE_IP_AUTOALLOCATE: "true", PILOT_TRACE_SAMPLING: "1" }\n')), [
    'istiod.env.PILOT_ENABLE_IP_AUTOALLOCATE',
    'istiod.env.PILOT_TRACE_SAMPLING',
  ]);
});

test('all of them, in one list: objects, DestinationRules, Sidecars, meshConfig, istiod.env', (t) => {
  const loaded = load(`mesh:
  destinationRules:
    - { name: dr, namespace: demo, spec: { host: a } }
objects:
  - { apiVersion: v1, kind: Secret, metadata: { name: s, namespace: demo } }
meshConfig: { trustDomain: example.org }
istiod: { env: { PILOT_X: "1" } }
`);
  t.deepEqual(unmodelled(loaded), [
    'Secret demo/s (objects[0])',
    'DestinationRule demo/dr (mesh.destinationRules)',
    'meshConfig.trustDomain',
    'istiod.env.PILOT_X',
  ]);
});

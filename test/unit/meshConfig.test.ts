/**
 * The mesh config lab-istiod reads (harness/istio/meshConfig.ts labMeshConfig): the scenario's
 * meshConfig: as written, what the lab must set applied after it, a note for every scenario value
 * it overrides, and the stats prefixes merged with the scenario's own.
 */
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { labMeshConfig } from '../../harness/istio/meshConfig.ts';
import { accessLogLines } from '../../harness/istio/envoyAdmin.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';
import { parseScenario } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';

function scenario(extra = ''): Scenario {
  return parseScenario(
    `name: mesh
description: unit test
istio: "1.30"
workloads:
  - { name: client, ip: 10.64.192.20 }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
${extra}`,
    'mesh.yaml',
  ).scenario;
}

const mesh = (s: Scenario) => parseYaml(labMeshConfig(s).yaml) as Record<string, unknown>;

test("without meshConfig: the lab's settings and the shorthand's policy, no notes", (t) => {
  const s = scenario('mesh:\n  outboundTrafficPolicy: REGISTRY_ONLY\n');
  t.deepEqual(mesh(s), {
    accessLogFile: '/dev/stdout',
    accessLogEncoding: 'TEXT',
    defaultProviders: { metrics: [] },
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES } },
  });
  t.deepEqual(labMeshConfig(s).notes, []);
});

test("the scenario's meshConfig is kept as written, fields the lab does not know included", (t) => {
  const s = scenario(`meshConfig:
  enableAutoMtls: false
  trustDomain: example.org
  outboundTrafficPolicy: { mode: REGISTRY_ONLY, egressProxy: { host: egress.istio-system.svc.cluster.local, port: { number: 80 } } }
  defaultProviders: { tracing: [zipkin] }
  extensionProviders: [{ name: zipkin, zipkin: { service: zipkin.istio-system.svc.cluster.local, port: 9411 } }]
  defaultConfig:
    holdApplicationUntilProxyStarts: true
    proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }
`);
  const m = mesh(s);
  t.like(m, {
    enableAutoMtls: false,
    trustDomain: 'example.org',
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY', egressProxy: { host: 'egress.istio-system.svc.cluster.local', port: { number: 80 } } },
    defaultProviders: { tracing: ['zipkin'], metrics: [] },
    extensionProviders: [{ name: 'zipkin', zipkin: { service: 'zipkin.istio-system.svc.cluster.local', port: 9411 } }],
    defaultConfig: {
      holdApplicationUntilProxyStarts: true,
      proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' },
      proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES },
    },
  });
  t.deepEqual(labMeshConfig(s).notes, []);
});

test("meshConfig's outboundTrafficPolicy is the mesh's, as written; the shorthand fills in only when it has none", (t) => {
  t.deepEqual(mesh(scenario('meshConfig:\n  outboundTrafficPolicy: { mode: SOMETHING_NEW }\n')).outboundTrafficPolicy, {
    mode: 'SOMETHING_NEW',
  });
  t.deepEqual(mesh(scenario('meshConfig:\n  trustDomain: x\n')).outboundTrafficPolicy, { mode: 'ALLOW_ANY' });
});

test('defaultProviders.metrics is set to [], with a note naming what the scenario had', (t) => {
  const r = labMeshConfig(scenario('meshConfig:\n  defaultProviders: { metrics: [prometheus], accessLogging: [envoy] }\n'));
  t.like(parseYaml(r.yaml), { defaultProviders: { metrics: [], accessLogging: ['envoy'] } });
  t.deepEqual(r.notes, [
    'meshConfig.defaultProviders.metrics ["prometheus"] was set to []: upstream Envoy has no istio.stats filter, so Istio\'s standard metrics are absent',
  ]);
  // [] as written is no override.
  t.deepEqual(labMeshConfig(scenario('meshConfig:\n  defaultProviders: { metrics: [] }\n')).notes, []);
});

test('accessLogFile is set to /dev/stdout, with a note when the scenario said otherwise', (t) => {
  const r = labMeshConfig(scenario('meshConfig:\n  accessLogFile: ""\n'));
  t.is((parseYaml(r.yaml) as { accessLogFile?: string }).accessLogFile, '/dev/stdout');
  t.deepEqual(r.notes, ['meshConfig.accessLogFile "" was set to /dev/stdout: the lab reads the sidecar\'s access log']);
  t.deepEqual(labMeshConfig(scenario('meshConfig:\n  accessLogFile: /dev/stdout\n')).notes, []);
  // Both overrides: two notes, in order.
  const both = labMeshConfig(scenario('meshConfig:\n  accessLogFile: /var/log/a\n  defaultProviders: { metrics: [p] }\n'));
  t.is(both.notes.length, 2);
  t.regex(both.notes[0]!, /^meshConfig\.defaultProviders\.metrics/);
  t.regex(both.notes[1]!, /^meshConfig\.accessLogFile "\/var\/log\/a"/);
});

test("the stats inclusion prefixes: the scenario's first, then the lab's, each once; the rest of the matcher kept", (t) => {
  const m = mesh(
    scenario(`meshConfig:
  defaultConfig:
    proxyStatsMatcher:
      inclusionPrefixes: [upstream_cx, tcp.]
      inclusionRegexps: [".*circuit_breakers.*"]
`),
  );
  t.deepEqual(m.defaultConfig, {
    proxyStatsMatcher: {
      inclusionPrefixes: ['upstream_cx', 'tcp.', ...MESH_STATS_PREFIXES.filter((p) => p !== 'tcp.')],
      inclusionRegexps: ['.*circuit_breakers.*'],
    },
  });
});

test("labMeshConfig does not change the scenario's meshConfig", (t) => {
  const s = scenario(`meshConfig:
  accessLogFile: /tmp/x
  defaultProviders: { metrics: [prometheus] }
  defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: [a] } }
`);
  const before = structuredClone(s.meshConfig);
  labMeshConfig(s);
  labMeshConfig(s);
  t.deepEqual(s.meshConfig, before);
  // And the result is the same every time.
  t.is(labMeshConfig(s).yaml, labMeshConfig(s).yaml);
});

// Regression test, found and fixed with these tests (harness/istio/meshConfig.ts labMeshConfig): the lab's access-log evidence is read in Istio's
// TEXT format (harness/istio/envoyAdmin.ts accessLogLines keeps only lines starting with the
// bracketed start time), but a scenario's accessLogEncoding: JSON (or an accessLogFormat that does
// not start that way) is passed through with no note: the run's access.log is then silently empty.
// Fix: set accessLogEncoding TEXT and accessLogFormat "" after the scenario's, with a note when they
// differ (as for accessLogFile), or teach accessLogLines the JSON encoding.
test("a scenario's JSON access-log encoding does not silently empty the lab's access-log evidence", (t) => {
  const r = labMeshConfig(scenario('meshConfig:\n  accessLogEncoding: JSON\n'));
  const encoding = (parseYaml(r.yaml) as { accessLogEncoding?: string }).accessLogEncoding;
  const jsonLine = '{"start_time":"2026-01-01T00:00:00.000Z","response_code":0,"upstream_cluster":"PassthroughCluster"}';
  const readsJson = accessLogLines(`${jsonLine}\n`).length === 1;
  t.true(readsJson || encoding !== 'JSON' || r.notes.some((n) => n.includes('accessLogEncoding')), JSON.stringify(r));
});

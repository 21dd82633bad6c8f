/** The outbound traffic policy in one place (harness/scenario/outboundPolicy.ts): the mode, and which namespaces get the lab's Sidecar. */
import test from 'ava';
import { parseScenario } from '../../harness/scenario/load.ts';
import { outboundMode, policyFromMeshConfig, policySidecarNamespaces } from '../../harness/scenario/outboundPolicy.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';

/** A scenario with workloads in these namespaces (one per entry) and extra top-level blocks. */
function scenario(namespaces: string[], extra = ''): Scenario {
  const workloads = namespaces.map((ns, i) => `  - { name: w${i}, namespace: ${ns}, ip: 10.64.192.${20 + i} }`).join('\n');
  const text = `name: policy
description: unit test
istio: "1.30"
workloads:
${workloads}
${extra}
probes:
  - { name: p, from: w0, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`;
  return parseScenario(text, 'policy.yaml').scenario;
}

test('outboundMode: the shorthand, ALLOW_ANY by default', (t) => {
  t.is(outboundMode(scenario(['a'])), 'ALLOW_ANY');
  t.is(outboundMode(scenario(['a'], 'mesh:\n  outboundTrafficPolicy: REGISTRY_ONLY')), 'REGISTRY_ONLY');
});

test("outboundMode: meshConfig's mode wins over the shorthand, whatever it says", (t) => {
  const s = scenario(['a'], 'mesh:\n  outboundTrafficPolicy: REGISTRY_ONLY');
  t.is(outboundMode({ ...s, meshConfig: { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } } }), 'ALLOW_ANY');
  // A mode the shorthand cannot say is still meshConfig's to say.
  t.is(outboundMode({ ...s, meshConfig: { outboundTrafficPolicy: { mode: 'SOMETHING_NEW' } } }), 'SOMETHING_NEW');
  // No mode (or not a string): the shorthand's.
  t.is(outboundMode({ ...s, meshConfig: { outboundTrafficPolicy: {} } }), 'REGISTRY_ONLY');
  t.is(outboundMode({ ...s, meshConfig: { outboundTrafficPolicy: { mode: 1 } } }), 'REGISTRY_ONLY');
});

test('policyFromMeshConfig: only when meshConfig has an outboundTrafficPolicy', (t) => {
  t.false(policyFromMeshConfig(scenario(['a'])));
  t.false(policyFromMeshConfig(scenario(['a'], 'mesh:\n  outboundTrafficPolicy: REGISTRY_ONLY')));
  t.false(policyFromMeshConfig(scenario(['a'], 'meshConfig:\n  accessLogFile: /dev/stdout')));
  t.true(policyFromMeshConfig(scenario(['a'], 'meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY }')));
});

test('policySidecarNamespaces: every workload namespace once, sorted', (t) => {
  t.deepEqual(policySidecarNamespaces(scenario(['zeta', 'alpha', 'zeta', 'mid'])), ['alpha', 'mid', 'zeta']);
});

test("policySidecarNamespaces: none when meshConfig carries the policy (a Sidecar's would override the mesh's)", (t) => {
  t.deepEqual(policySidecarNamespaces(scenario(['a', 'b'], 'meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY }')), []);
});

test('policySidecarNamespaces: a namespace with its own namespace-wide shorthand Sidecar gets none; a selector Sidecar does not count', (t) => {
  const s = scenario(
    ['a', 'b', 'c'],
    `mesh:
  sidecars:
    - { name: own, namespace: a, spec: { egress: [{ hosts: ["./*"] }] } }
    - { name: some-pods, namespace: b, spec: { workloadSelector: { labels: { app: x } } } }
    - { name: elsewhere, namespace: nowhere, spec: {} }`,
  );
  t.deepEqual(policySidecarNamespaces(s), ['b', 'c']);
});

test('policySidecarNamespaces: a verbatim namespace-wide Sidecar counts too, in its namespace or in default when it names none', (t) => {
  const s = scenario(
    ['a', 'b', 'default', 'd'],
    `objects:
  - apiVersion: networking.istio.io/v1
    kind: Sidecar
    metadata: { name: mine, namespace: a }
    spec: { outboundTrafficPolicy: { mode: REGISTRY_ONLY } }
  - apiVersion: networking.istio.io/v1
    kind: Sidecar
    metadata: { name: mine }
    spec: {}
  - apiVersion: networking.istio.io/v1
    kind: Sidecar
    metadata: { name: selected, namespace: b }
    spec: { workloadSelector: { labels: { app: w1 } } }
  - apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: { name: not-a-sidecar, namespace: d }
    spec: { hosts: [x.example.com], ports: [{ number: 80, name: http, protocol: HTTP }] }`,
  );
  t.deepEqual(policySidecarNamespaces(s), ['b', 'd']);
});

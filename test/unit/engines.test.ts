/** Which sidecar engines a scenario runs on. */
import test from 'ava';
import { enginesFor } from '../../harness/run/engines.ts';
import { loadScenarioFile, parseScenario } from '../../harness/scenario/load.ts';

test('enginesFor: real Istio by default, the model for the seed era whatever was asked, both compared', (t) => {
  const modern = loadScenarioFile('redis-7000-modern');
  const seed = loadScenarioFile('redis-7000');
  t.deepEqual(enginesFor(modern, 'envoy'), { engines: ['envoy'] });
  t.deepEqual(enginesFor(modern, 'both'), { engines: ['envoy', 'model'] });
  t.deepEqual(enginesFor(modern, 'model'), { engines: ['model'] });
  t.deepEqual(enginesFor(seed, 'envoy').engines, ['model']);
  t.regex(enginesFor(seed, 'envoy').note!, /Istio 1\.4 is the seed era: no real part can run it/);
  t.regex(enginesFor(seed, 'both').note!, /nothing to compare it with/);
  t.is(enginesFor(seed, 'model').note, undefined);
});

// ---------------------------------------------------------------- what the model does not model (harness/model/unmodelled.ts)

function withUnmodelled(istio: string, extra = 'meshConfig: { trustDomain: example.org }\n') {
  return parseScenario(
    `name: engines
description: unit test
istio: "${istio}"
workloads:
  - { name: client, ip: 10.64.192.20 }
probes:
  - { name: p, from: client, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
${extra}`,
    'engines.yaml',
  );
}

test('enginesFor: the seed era with something the model does not model is refused whatever was asked, naming it', (t) => {
  const seed = withUnmodelled('1.4');
  for (const choice of ['envoy', 'model', 'both'] as const) {
    const plan = enginesFor(seed, choice);
    t.deepEqual(plan.engines, [], choice);
    t.is(plan.note, undefined, choice);
    t.is(
      plan.refused,
      'the sidecar model does not model meshConfig.trustDomain, and Istio 1.4 (the seed era) runs only on the model: write it for Istio 1.25 or newer to run it on real Istio',
      choice,
    );
  }
});

test('enginesFor: today, something unmodelled refuses the model, runs both as envoy alone with a note, and leaves envoy as is', (t) => {
  const modern = withUnmodelled(
    '1.30',
    'istiod: { env: { PILOT_X: "1" } }\nmesh:\n  sidecars:\n    - { name: sc, namespace: default, spec: {} }\n',
  );
  const what = 'the sidecar model does not model Sidecar default/sc (mesh.sidecars), istiod.env.PILOT_X';
  t.deepEqual(enginesFor(modern, 'model'), { engines: [], refused: `${what}: run it on real Istio (--sidecar envoy)` });
  t.deepEqual(enginesFor(modern, 'both'), { engines: ['envoy'], note: `not compared with the model: ${what}` });
  t.deepEqual(enginesFor(modern, 'envoy'), { engines: ['envoy'] });
});

test('enginesFor: a meshConfig policy the model has is modelled: the seed era still runs on the model', (t) => {
  const seed = withUnmodelled('1.4', 'meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
  t.deepEqual(enginesFor(seed, 'model'), { engines: ['model'], note: undefined });
  t.is(seed.scenario.mesh.outboundTrafficPolicy, 'REGISTRY_ONLY');
  t.deepEqual(enginesFor(withUnmodelled('1.30', ''), 'both'), { engines: ['envoy', 'model'] });
});

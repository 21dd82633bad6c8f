/** Which sidecar engines a scenario runs on. */
import test from 'ava';
import { enginesFor } from '../../harness/run/engines.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';

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

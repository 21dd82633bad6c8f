/**
 * A scenario's istiod.env against the flags an Istio build registers (harness/istio/istiodFlags.ts),
 * with a hand-written flag list: istiodFlags() itself runs lab-istiod, which this tier does not.
 */
import test from 'ava';
import { istiodEnvIssues, nonDefaultFlags, type IstiodFlag } from '../../harness/istio/istiodFlags.ts';

const FLAGS: IstiodFlag[] = [
  { name: 'PILOT_ENABLE_IP_AUTOALLOCATE', default: 'false', description: 'auto-allocate ServiceEntry addresses' },
  { name: 'PILOT_ENABLE_ALPHA_GATEWAY_API', default: 'false', description: 'alpha Gateway API' },
  { name: 'PILOT_TRACE_SAMPLING', default: '1', description: 'sampling percentage' },
  { name: 'ISTIO_META_EMPTY', default: '', description: 'empty by default' },
  { name: 'PILOT_OLD_THING', default: 'true', description: 'old', deprecated: true },
  {
    name: 'PILOT_ENABLE_HBONE',
    default: 'false',
    description: 'HBONE',
    fixedByLab: 'upstream Envoy has no internal listener for HBONE in this build',
  },
];

test('istiodEnvIssues: flags this Istio has, set to anything, are fine (deprecated ones too)', (t) => {
  t.deepEqual(istiodEnvIssues({}, FLAGS), []);
  t.deepEqual(istiodEnvIssues({ PILOT_ENABLE_IP_AUTOALLOCATE: 'true', PILOT_TRACE_SAMPLING: '100', PILOT_OLD_THING: 'false' }, FLAGS), []);
});

test('istiodEnvIssues: an unknown flag names the field and the count, and suggests a near name', (t) => {
  t.deepEqual(istiodEnvIssues({ PILOT_ENABLE_IP_AUTOALOCATE: 'true' }, FLAGS), [
    {
      path: 'istiod.env.PILOT_ENABLE_IP_AUTOALOCATE',
      keys: ['istiod', 'env', 'PILOT_ENABLE_IP_AUTOALOCATE'],
      message:
        'istiod has no flag PILOT_ENABLE_IP_AUTOALOCATE (lab-istiod flags lists the 6 this Istio has); did you mean PILOT_ENABLE_IP_AUTOALLOCATE?',
    },
  ]);
});

test('istiodEnvIssues: no suggestion when no flag is near (within max(3, a quarter of the name))', (t) => {
  const [far] = istiodEnvIssues({ TOTALLY_DIFFERENT: '1' }, FLAGS);
  t.is(far?.message, 'istiod has no flag TOTALLY_DIFFERENT (lab-istiod flags lists the 6 this Istio has)');
  // The bound grows with the name: 5 edits on a 25-character name are near (25 / 4 = 6.25), 7 on 27 are not (6.75).
  const [near] = istiodEnvIssues({ PILOT_TRACE_SAMPLINGXXXXX: '1' }, FLAGS);
  t.regex(near!.message, /; did you mean PILOT_TRACE_SAMPLING\?$/);
  const [over] = istiodEnvIssues({ PILOT_TRACE_SAMPLINGXXXXXXX: '1' }, FLAGS);
  t.is(over!.message, 'istiod has no flag PILOT_TRACE_SAMPLINGXXXXXXX (lab-istiod flags lists the 6 this Istio has)');
  // One edit away.
  t.regex(istiodEnvIssues({ ISTIO_META_EMPTX: '1' }, FLAGS)[0]!.message, /did you mean ISTIO_META_EMPTY\?$/);
});

test('istiodEnvIssues: a flag the lab fixes for upstream Envoy cannot be set, with the reason', (t) => {
  t.deepEqual(istiodEnvIssues({ PILOT_ENABLE_HBONE: 'true' }, FLAGS), [
    {
      path: 'istiod.env.PILOT_ENABLE_HBONE',
      keys: ['istiod', 'env', 'PILOT_ENABLE_HBONE'],
      message: 'PILOT_ENABLE_HBONE cannot be changed in the lab: upstream Envoy has no internal listener for HBONE in this build',
    },
  ]);
  // Even to its default.
  t.is(istiodEnvIssues({ PILOT_ENABLE_HBONE: 'false' }, FLAGS).length, 1);
});

test('istiodEnvIssues: one issue per bad name, in the order written', (t) => {
  const issues = istiodEnvIssues({ NOPE_A: '1', PILOT_TRACE_SAMPLING: '5', PILOT_ENABLE_HBONE: 'true', NOPE_B: '2' }, FLAGS);
  t.deepEqual(
    issues.map((i) => i.path),
    ['istiod.env.NOPE_A', 'istiod.env.PILOT_ENABLE_HBONE', 'istiod.env.NOPE_B'],
  );
});

// Regression test, found and fixed with these tests (harness/istio/istiodFlags.ts istiodEnvIssues): with an empty flag list (a lab-istiod whose
// `flags` lists none), fastest-levenshtein's closest() returns undefined and distance(name, undefined)
// throws "Cannot read properties of undefined (reading 'length')" instead of reporting the unknown
// flag. Fix: compute the hint only when flags.length > 0.
test('istiodEnvIssues: an empty flag list reports the flag instead of throwing', (t) => {
  const issues = istiodEnvIssues({ PILOT_X: '1' }, []);
  t.deepEqual(
    issues.map((i) => i.message),
    ['istiod has no flag PILOT_X (lab-istiod flags lists the 0 this Istio has)'],
  );
});

test("nonDefaultFlags: each flag set to other than Istio's default, with the default, in the order written", (t) => {
  t.deepEqual(
    nonDefaultFlags(
      { PILOT_TRACE_SAMPLING: '100', PILOT_ENABLE_IP_AUTOALLOCATE: 'false', ISTIO_META_EMPTY: 'x', PILOT_ENABLE_ALPHA_GATEWAY_API: 'true' },
      FLAGS,
    ),
    [
      "PILOT_TRACE_SAMPLING=100 (Istio's default: 1)",
      "ISTIO_META_EMPTY=x (Istio's default: (empty))",
      "PILOT_ENABLE_ALPHA_GATEWAY_API=true (Istio's default: false)",
    ],
  );
  t.deepEqual(nonDefaultFlags({}, FLAGS), []);
  // Set to the default exactly (string comparison): not listed; " false" is not "false".
  t.deepEqual(nonDefaultFlags({ PILOT_ENABLE_IP_AUTOALLOCATE: 'false', ISTIO_META_EMPTY: '' }, FLAGS), []);
  t.deepEqual(nonDefaultFlags({ PILOT_ENABLE_IP_AUTOALLOCATE: ' false' }, FLAGS), [
    "PILOT_ENABLE_IP_AUTOALLOCATE= false (Istio's default: false)",
  ]);
});

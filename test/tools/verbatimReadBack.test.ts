/**
 * What lab-istiod reads is what the scenario gave: for every catalog scenario with verbatim
 * objects, each object is read back from the store istiod took it into (its config store for
 * Istio's kinds, its Kubernetes client for the rest, both for the Gateway API) with lab-istiod read,
 * and compared in meaning: every field the scenario wrote is there with its value; the stores may
 * add defaults (a Service's targetPort, Istio's types' own).
 */
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import { readBack, writeControlPlaneInputs, type ReadBack } from '../../harness/istio/controlPlane.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { kindVerdict } from '../../harness/scenario/objectKinds.ts';

/** The paths at which `given` has a value `got` lacks or differs on; arrays element by element. */
export function missingFrom(given: unknown, got: unknown, at = ''): string[] {
  if (Array.isArray(given)) {
    if (!Array.isArray(got)) return [`${at}: expected a list, got ${JSON.stringify(got)}`];
    if (got.length !== given.length) return [`${at}: ${given.length} items given, ${got.length} read back`];
    return given.flatMap((g, i) => missingFrom(g, got[i], `${at}[${i}]`));
  }
  if (given !== null && typeof given === 'object') {
    if (got === null || typeof got !== 'object') return [`${at}: expected an object, got ${JSON.stringify(got)}`];
    return Object.entries(given).flatMap(([k, v]) => missingFrom(v, (got as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return given === got ? [] : [`${at}: gave ${JSON.stringify(given)}, read back ${JSON.stringify(got)}`];
}

test('missingFrom: extra fields read back are fine; a missing or changed one is named', (t) => {
  t.deepEqual(missingFrom({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2], d: 3 }, e: 4 }), []);
  t.deepEqual(missingFrom({ a: 1, b: { c: [1, 2] } }, { a: 2, b: { c: [1] } }), [
    'a: gave 1, read back 2',
    'b.c: 2 items given, 1 read back',
  ]);
  t.deepEqual(missingFrom({ x: 'yes' }, { x: true }), ['x: gave "yes", read back true']);
});

const withObjects = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(f.replace(/\.yaml$/, '')))
  .filter((l) => l.scenario.objects.length > 0);

test('the catalog has scenarios with verbatim objects to check', (t) => {
  t.true(withObjects.length >= 4, `only ${withObjects.length}`);
});

for (const loaded of withObjects) {
  const { scenario } = loaded;
  test(`${scenario.name}: lab-istiod reads every verbatim object as given`, async (t) => {
    const dir = writeControlPlaneInputs(mkdtempSync(join(tmpdir(), 'egress-lab-read-')), controlPlaneInputs(scenario));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const read = await readBack(realParts().labIstiod, dir);
    for (const o of scenario.objects) {
      const verdict = kindVerdict(o.apiVersion, o.kind);
      if (!('home' in verdict)) return t.fail(`${o.kind} is refused`);
      const stores: ReadBack['from'][] =
        verdict.home === 'istio'
          ? ['istio config store']
          : verdict.home === 'kubernetes'
            ? ['kubernetes client']
            : ['istio config store', 'kubernetes client'];
      for (const from of stores) {
        const r = read.find(
          (x) => x.from === from && x.kind === o.kind && x.name === o.metadata.name && (x.namespace ?? '') === (o.metadata.namespace ?? ''),
        );
        const ref = `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} in the ${from}`;
        if (!r?.object) {
          t.fail(`${ref}: not read back (${r?.error ?? 'absent'})`);
          continue;
        }
        // The config store holds the spec; the Kubernetes client the whole object.
        const { apiVersion: _a, kind: _k, metadata, ...fields } = o;
        const given =
          from === 'istio config store'
            ? { spec: o.spec }
            : { ...fields, metadata: { labels: metadata.labels, annotations: metadata.annotations } };
        t.deepEqual(missingFrom(JSON.parse(JSON.stringify(given)), r.object), [], ref);
      }
    }
  });
}

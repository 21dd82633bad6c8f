/**
 * Every catalog probe states the path it predicts (expect.path), and the model's trace of that
 * connection gives it: a unit test per prediction, with no root and no lab. The names are Istio's
 * (test/tools/istioSimulation.test.ts holds the modern scenarios' to Istio's own simulation). A
 * scenario the model does not fully read is held to Istio's simulation only.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import { tracePathFrom } from '../../harness/model/pathTrace.ts';
import { probeTarget } from '../../harness/probes/registry.ts';
import { resolveInLab } from '../../harness/lab/topology.ts';
import { checkPath } from '../../harness/result/assertions.ts';
import { unmodelled } from '../../harness/model/unmodelled.ts';

const catalog = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

for (const name of catalog) {
  const loaded = loadScenarioFile(name);
  const { scenario, istio } = loaded;
  // A scenario with what the model does not model runs on real Istio only (harness/model/unmodelled.ts);
  // test/tools/istioSimulation.test.ts holds its predictions to Istio's simulation.
  if (unmodelled(loaded).length > 0) continue;
  for (const probe of scenario.probes) {
    test(`${name}/${probe.name}: the model's path is the predicted one`, (t) => {
      const want = probe.expect.path;
      if (!want) return t.fail(`${name}/${probe.name} states no expect.path`);
      const workload = scenario.workloads.find((w) => w.name === probe.from)!;
      const target = probeTarget(probe);
      const ip = resolveInLab(scenario, workload, target.host);
      if (!ip) return t.fail(`${target.host} does not resolve in ${name}'s lab`);
      const checks = checkPath(want, tracePathFrom(scenario, istio, workload, target, ip).match, 'model trace', 'reasoned');
      t.true(checks.length > 0, 'a prediction names at least one match');
      for (const c of checks) t.true(c.ok, `${c.what}: expected ${c.expected}, saw ${c.seen}`);
    });
  }
}

test('a wrong prediction fails, naming the field, both values and the source', (t) => {
  const { scenario, istio } = loadScenarioFile('redis-7000-modern');
  const workload = scenario.workloads[0]!;
  const probe = scenario.probes.find((p) => p.name === 'nc-7000')!;
  const match = tracePathFrom(scenario, istio, workload, probeTarget(probe), '10.0.0.6').match;
  const [c] = checkPath({ filterChain: 'virtualOutbound-catchall-tcp' }, match, 'model trace', 'reasoned');
  t.false(c!.ok);
  t.is(c!.what, 'filterChain (model trace)');
  t.is(c!.seen, 'PassthroughFilterChain');
  const [none] = checkPath({ route: 'none', cluster: 'PassthroughCluster' }, match, 'model trace', 'reasoned');
  t.true(none!.ok, '"none": the tcp_proxy chain has no route');
  t.false(checkPath({ listener: 'x' }, undefined, "Istio's simulation", 'observed')[0]!.ok, 'no path at all is a failure');
});

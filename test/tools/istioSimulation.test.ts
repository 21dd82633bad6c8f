/**
 * The catalog's path predictions (expect.path) held to Istio's own simulation
 * (pilot/pkg/simulation, run by lab-istiod offline over the config istiod generates): for every
 * modern scenario, per pod, one call per probe. No root and no Envoy. The seed era (Istio 1.4-1.6)
 * has no real part to ask; its predictions are the model's alone.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import { simulateOffline, writeControlPlaneInputs } from '../../harness/istio/controlPlane.ts';
import { simulationCall } from '../../harness/istio/simulation.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { tracePathFrom } from '../../harness/model/pathTrace.ts';
import { probeTarget } from '../../harness/probes/registry.ts';
import { resolveInLab } from '../../harness/lab/topology.ts';
import { checkPath } from '../../harness/result/assertions.ts';

const modern = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(f.replace(/\.yaml$/, '')))
  .filter((l) => l.istio.era === 'modern');

for (const loaded of modern) {
  const { scenario, istio } = loaded;
  test(`${scenario.name}: Istio's simulation gives every probe the predicted path`, async (t) => {
    const dir = writeControlPlaneInputs(mkdtempSync(join(tmpdir(), 'egress-lab-sim-')), controlPlaneInputs(scenario));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const byPod = new Map<string, typeof scenario.probes>();
    for (const p of scenario.probes.filter((x) => scenario.workloads.find((w) => w.name === x.from)!.sidecar))
      byPod.set(p.from, [...(byPod.get(p.from) ?? []), p]);
    t.true(byPod.size > 0);
    for (const [from, probes] of byPod) {
      const w = scenario.workloads.find((x) => x.name === from)!;
      const calls = probes.map((p) => simulationCall(probeTarget(p), resolveInLab(scenario, w, probeTarget(p).host)!));
      const istioPaths = await simulateOffline(realParts().labIstiod, dir, `${w.namespace}/${w.name}`, calls);
      probes.forEach((p, i) => {
        const want = p.expect.path!;
        // The simulation assumes the client speaks first: where the model says the listener
        // filters wait for a server-first client, only the listener is Istio's to say.
        const trace = tracePathFrom(scenario, istio, w, probeTarget(p), calls[i]!.address);
        // iptables never redirects it (excludeOutboundIPRanges, includeOutboundIPRanges): no listener
        // sees it, and the simulation, which reads config only, has nothing to say about it.
        if (!trace.captured) {
          for (const c of checkPath(want, trace.match, 'model trace', 'observed'))
            t.true(c.ok, `${p.name} ${c.what}: predicted ${c.expected}, saw ${c.seen}`);
          return;
        }
        const waits = trace.outcome === 'waits';
        const checked = waits ? { listener: want.listener } : want;
        for (const c of checkPath(checked, istioPaths[i], "Istio's simulation", 'observed')) {
          t.true(c.ok, `${p.name} ${c.what}: predicted ${c.expected}, Istio says ${c.seen} (${JSON.stringify(istioPaths[i])})`);
        }
      });
    }
  });
}

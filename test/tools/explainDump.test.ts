/**
 * `explain` over config dumps: Istio's simulation (lab-istiod explain) reading a dump file as
 * istioctl reads it. No root:
 * - modern catalog: the dump istiod generates for each pod (lab-istiod dump), explained per probe,
 *   must give what the simulation over istiod's own objects gives, and the catalog's expect.path;
 * - seed era: Istio's simulation over the model's rendered dump must agree with the model's own
 *   trace on listener and cluster (two independent readings of one config), wherever the
 *   connection reaches the sidecar;
 * - the command line prints the seed 002 answer, and rejects bad input naming it.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import { dumpGeneratedConfig, simulateOffline, writeControlPlaneInputs } from '../../harness/istio/controlPlane.ts';
import { simulationCall } from '../../harness/istio/simulation.ts';
import { explainDump } from '../../harness/istio/explain.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { tracePathFrom } from '../../harness/model/pathTrace.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { probeTarget } from '../../harness/probes/registry.ts';
import { resolveInLab } from '../../harness/lab/topology.ts';
import { checkPath } from '../../harness/result/assertions.ts';
import { cliRunner } from '../helpers/cli.ts';

const catalog = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(f.replace(/\.yaml$/, '')));
const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-explain-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const cli = cliRunner(60_000);

/** The probes of each client pod with a sidecar. */
function probesByPod(scenario: (typeof catalog)[number]['scenario']) {
  const byPod = new Map<string, typeof scenario.probes>();
  for (const p of scenario.probes.filter((x) => scenario.workloads.find((w) => w.name === x.from)!.sidecar))
    byPod.set(p.from, [...(byPod.get(p.from) ?? []), p]);
  return byPod;
}

for (const { scenario, istio } of catalog.filter((l) => l.istio.era === 'modern')) {
  test(`${scenario.name}: explain over istiod's dump gives the simulation's path and expect.path`, async (t) => {
    const dir = writeControlPlaneInputs(mkdtempSync(join(tmp, 'inputs-')), controlPlaneInputs(scenario));
    for (const [from, probes] of probesByPod(scenario)) {
      const w = scenario.workloads.find((x) => x.name === from)!;
      const ref = `${w.namespace}/${w.name}`;
      const file = join(dir, `${w.name}.config_dump.json`);
      writeFileSync(file, JSON.stringify((await dumpGeneratedConfig(realParts().labIstiod, dir, [ref]))[ref]));
      const calls = probes.map((p) => simulationCall(probeTarget(p), resolveInLab(scenario, w, probeTarget(p).host)!));
      const [explained, simulated] = await Promise.all([
        explainDump(realParts().labIstiod, file, calls),
        simulateOffline(realParts().labIstiod, dir, ref, calls),
      ]);
      t.is(explained.dump.renamed.length, 0, 'a current dump has no deprecated names');
      probes.forEach((p, i) => {
        const e = explained.explanations[i]!;
        t.deepEqual(e.match, simulated[i], `${p.name}: the dump file gives what istiod's objects give`);
        if (e.match.listener) t.truthy(e.listenerBy, `${p.name}: says why the listener`);
        if (e.match.cluster && e.match.cluster !== 'BlackHoleCluster')
          t.true(e.clusterInDump, `${p.name}: ${e.match.cluster} is in the dump`);
        const trace = tracePathFrom(scenario, istio, w, probeTarget(p), calls[i]!.address);
        // iptables never redirects it: explain, like the simulation, reads config only.
        if (!trace.captured) return;
        const waits = trace.outcome === 'waits';
        const want = waits ? { listener: p.expect.path!.listener } : p.expect.path!;
        for (const c of checkPath(want, e.match, 'explain', 'observed'))
          t.true(c.ok, `${p.name} ${c.what}: predicted ${c.expected}, explain says ${c.seen}`);
      });
    }
  });
}

for (const { scenario, istio } of catalog.filter((l) => l.istio.era === 'legacy')) {
  test(`${scenario.name}: Istio's simulation over the model's dump agrees with the model's trace`, async (t) => {
    for (const [from, probes] of probesByPod(scenario)) {
      const w = scenario.workloads.find((x) => x.name === from)!;
      const file = join(tmp, `${scenario.name}-${w.name}.config_dump.json`);
      writeFileSync(file, JSON.stringify(renderConfigDump(buildProxyConfig(scenario, istio, w))));
      const calls = probes.map((p) => simulationCall(probeTarget(p), resolveInLab(scenario, w, probeTarget(p).host)!));
      const explained = await explainDump(realParts().labIstiod, file, calls);
      t.is(explained.dump.istioVersion, istio.text);
      probes.forEach((p, i) => {
        const trace = tracePathFrom(scenario, istio, w, probeTarget(p), calls[i]!.address);
        const e = explained.explanations[i]!.match;
        // iptables kept the connection from the sidecar (excludeOutboundIPRanges): there is no
        // listener to agree on, and the simulation reads config, not iptables.
        if (trace.match.listener === undefined) return;
        t.is(e.listener, trace.match.listener, `${p.name}: listener`);
        if (trace.outcome !== 'waits' && trace.match.cluster) t.is(e.cluster, trace.match.cluster, `${p.name}: cluster`);
      });
    }
  });
}

test('the command line names the seed 002 listener and cluster for 10.10.13.110:3306', (t) => {
  const { scenario, istio } = catalog.find((l) => l.scenario.name === 'mysql-3306-foreign-serviceentry')!;
  const file = join(tmp, 'seed-002-mysql-client.json');
  writeFileSync(
    file,
    JSON.stringify(
      renderConfigDump(
        buildProxyConfig(
          scenario,
          istio,
          scenario.workloads.find((w) => w.name === 'mysql-client')!,
        ),
      ),
    ),
  );
  const { code, out } = cli(['explain', '--config-dump', file, '--to', '10.10.13.110:3306']);
  t.is(code, 0, out);
  t.regex(out, /listener +0\.0\.0\.0_3306\n +no listener has 10\.10\.13\.110:3306, and 0\.0\.0\.0:3306 takes every other address/);
  t.regex(out, /cluster +outbound\|3306\|\|mysql\.demo\n +STRICT_DNS: mysql\.demo:3306/);
  t.regex(out, /Istio 1\.6/);
  t.regex(out, /envoy\.tcp_proxy -> envoy\.filters\.network\.tcp_proxy/);
});

test('explain rejects bad input, naming it', (t) => {
  const notJson = join(tmp, 'not-a-dump.json');
  writeFileSync(notJson, '{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": 7}]}');
  const bad = cli(['explain', '--config-dump', notJson, '--to', '10.0.0.1:80']);
  t.is(bad.code, 2, bad.out);
  t.regex(bad.out, /not-a-dump\.json: not an Envoy config dump/);
  const empty = join(tmp, 'empty.json');
  writeFileSync(empty, '{"configs": []}');
  t.regex(
    cli(['explain', '--config-dump', empty, '--to', '10.0.0.1:80']).out,
    /empty\.json: listeners: config dump has no configuration type .*ListenersConfigDump/,
  );
  t.regex(cli(['explain', '--config-dump', join(tmp, 'nope.json'), '--to', '10.0.0.1:80']).out, /nope\.json: no such file/);
  t.regex(cli(['explain', '--config-dump', empty]).out, /required option '--to <ip:port>' not specified/);
  t.regex(cli(['explain', '--config-dump', empty, '--to', '10.0.0.1']).out, /--to 10\.0\.0\.1: expected IP:PORT/);
  t.regex(cli(['explain', '--config-dump', empty, '--to', '10.0.0.1:443', '--sni', 'a', '--host', 'b']).out, /--sni and --host/);
});

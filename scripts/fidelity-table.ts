/**
 * The README's fidelity table, from a real run: every current-Istio scenario on real Istio (the
 * envoy engine) and on the model, compared probe by probe (harness/result/compare.ts), with whether
 * each engine met the scenario's expectations.
 *   npx tsx scripts/fidelity-table.ts [scenario...]      (root; prints Markdown)
 */
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR } from '../harness/scenario/load.ts';
import { runSuite } from '../harness/run/suite.ts';
import { QuietReporter } from '../harness/report/console.ts';
import { compareOutcomes } from '../harness/result/compare.ts';
import type { ProbeOutcome } from '../harness/result/outcome.ts';
import { realParts } from '../harness/istio/parts.ts';
import { unmodelled } from '../harness/model/unmodelled.ts';

const names = process.argv.slice(2);
const loaded = (
  names.length
    ? names
    : readdirSync(SCENARIO_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5))
)
  .map((n) => loadScenarioFile(n))
  .filter((l) => l.istio.era === 'modern');
const dir = mkdtempSync(join(tmpdir(), 'egress-lab-fidelity-'));
chmodSync(dir, 0o755);
const result = await runSuite(
  {
    scenarios: loaded,
    selection: ['fidelity table'],
    sidecar: 'both',
    cleanup: 'always',
    repeat: 1,
    untilFail: false,
    runDir: dir,
    reportDir: join(dir, 'reports'),
    reporter: new QuietReporter(() => undefined),
  },
  {},
);

const verdict = (p: ProbeOutcome | undefined) => {
  if (!p) return 'not run';
  const failedChecks = p.checks.filter((c) => !c.ok).map((c) => `${c.evidence} ${c.what}`);
  return p.ok ? 'pass' : `fails ${failedChecks.join(', ') || p.error}`;
};

const v = realParts().versions;
console.log(`Real: Istio ${v.istioRelease} (${v.istioModule}) with Envoy ${v.envoy}; run ${result.startedAt.slice(0, 10)}.\n`);
console.log('| scenario | probe | real Istio | model | model versus real |');
console.log('| --- | --- | --- | --- | --- |');
for (const l of loaded) {
  const runs = result.runs.filter((r) => r.scenario === l.scenario.name);
  const real = runs.find((r) => r.backend === 'netns/envoy')?.outcome;
  const model = runs.find((r) => r.backend === 'netns/model')?.outcome;
  const notModelled = unmodelled(l);
  if (real && notModelled.length > 0) {
    const passed = real.probes.every((p) => p.ok) ? 'pass' : 'fails';
    console.log(
      `| \`${l.scenario.name}\` | (all) | ${passed} | not run | the model does not model it (${notModelled.length} object(s) or setting(s)) |`,
    );
    continue;
  }
  if (!real || !model) {
    console.log(`| \`${l.scenario.name}\` | (all) | ${real ? 'ran' : 'did not run'} | ${model ? 'ran' : 'did not run'} | |`);
    continue;
  }
  for (const d of compareOutcomes(model, real)) {
    const how = d.agree
      ? 'agree'
      : d.differences
          .map((x) => `${x.aspect} ${x.field}: model ${x.lab}, real ${x.kind}`)
          .join('; ')
          .replace(/\|/g, '\\|');
    const probe = (o: typeof real) => o.probes.find((p) => p.probe.name === d.probe);
    console.log(
      `| \`${l.scenario.name}\` | ${d.probe} | ${verdict(probe(real)).replace(/\|/g, '\\|')} | ${verdict(probe(model)).replace(/\|/g, '\\|')} | ${how} |`,
    );
  }
}

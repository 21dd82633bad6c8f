/**
 * The TypeScript istio-iptables (harness/model/iptables.ts) against Istio's own (`pilot-agent
 * istio-iptables --dry-run`, from the module the lab builds): for every sidecar pod of the catalog,
 * the flags the injector passes for its annotations must give the same restore text; so must the
 * offline command's inputs that istio-iptables reads only from the environment. Needs the real
 * parts (npm run setup), not root: a dry run applies nothing.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import { injectionArgs, injectionConfig, renderRestore } from '../../harness/model/iptables.ts';
import { parseIstioIptablesArgs } from '../../harness/model/iptablesFlags.ts';
import { istioIptablesDryRun } from '../../harness/istio/istioInit.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { INJECTOR_DEFAULT_ARGS } from '../helpers/iptables.ts';

const pods = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => {
    const { scenario } = loadScenarioFile(`${SCENARIO_DIR}/${f}`);
    return scenario.workloads.filter((w) => w.sidecar).map((w) => ({ scenario: scenario.name, w }));
  });

for (const { scenario, w } of pods) {
  test(`${scenario}/${w.name}: the TypeScript rules equal Istio's istio-iptables for the injector's flags`, async (t) => {
    const cfg = injectionConfig(w.annotations, 'modern');
    const real = await istioIptablesDryRun(realParts().pilotAgent, injectionArgs(cfg));
    t.not(real, '', 'istio-iptables printed no restore input');
    t.is(renderRestore(cfg), real);
  });
}

const ENV_CASES: Array<Record<string, string>> = [
  { ISTIO_OUTBOUND_OWNER_GROUPS: '101,102' },
  { ISTIO_OUTBOUND_OWNER_GROUPS: '' },
  { ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: '7,8' },
  { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.0/8' },
];

for (const env of ENV_CASES) {
  test(`env-only input ${JSON.stringify(env)}: the offline command and istio-iptables agree`, async (t) => {
    const real = await istioIptablesDryRun(realParts().pilotAgent, INJECTOR_DEFAULT_ARGS, env);
    t.not(real, '');
    t.is(renderRestore(parseIstioIptablesArgs(INJECTOR_DEFAULT_ARGS, 'modern', env)), real);
  });
}

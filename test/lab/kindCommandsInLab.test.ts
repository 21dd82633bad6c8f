/**
 * The kind backend's command lines, run for real in the netns lab (there is no cluster here, but
 * the tools are the same: Debian ships the socat and curl the kind client image has).
 *
 * For every catalog scenario the kind backend can run, in a lab with the real sidecar:
 * - each probe's kind script runs in the client's pod namespace, as the app user, against the
 *   lab's servers, and must give the lab probe agent's ProbeResult, bar the differences its kind
 *   names (shellLimits); the port it reports must find its own conntrack leg, shaped like the agent's;
 * - conntrack is read as the kind backend reads it, `nsenter -t PID -n conntrack -L` with a pid
 *   inside the pod namespace;
 * - the sidecar's stats and config_dump are read as on kind, `pilot-agent request GET ...` in the
 *   pod as the proxy user, parsed by the kind backend's parsers, and the config gate's expectations
 *   (from the model, for the Istio kind installs) must be met by the real Envoy's config_dump.
 */
import test from 'ava';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { loadScenarioFile, SCENARIO_DIR } from '../../harness/scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../../harness/lab/netnsBackend.ts';
import { gateExpectations, kindSkipReason } from '../../harness/kind/kindBackend.ts';
import { parseProbeOutput, probeShellArgv, randomSourcePort } from '../../harness/kind/probeCommands.ts';
import { podNetnsArgv } from '../../harness/kind/commands.ts';
import { pickIptablesSave } from '../../harness/kind/parsers.ts';
import { compareWithLab, unexplained } from '../../harness/kind/labComparison.ts';
import { probeSpec } from '../../harness/probes/registry.ts';
import { legsOfProbe, newEntries, parseConntrack, redirectPort, type ProbeLegs } from '../../harness/evidence/conntrack.ts';
import { parseStatsText } from '../../harness/core/stats.ts';
import { missingConfig } from '../../harness/evidence/configGate.ts';
import { parseIstioVersion, type IstioVersion } from '../../harness/scenario/istioVersion.ts';
import { ISTIO_VERSION } from '../../harness/kind/plan.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { PROXY_UID } from '../../harness/core/uids.ts';
import { withCaFile, type ProbeSpec } from '../../harness/probes/registry.ts';
import { isRoot, leftoverNamespaces, recordingReporter, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const kindScenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(f.replace(/\.yaml$/, '')))
  .filter((l) => kindSkipReason(l) === undefined);
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

/** The rule lines of an iptables-save output (no counters, no comments or timestamps). */
const rulesOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('-A ') || l.startsWith('*'))
    .join('\n');

/**
 * What must be alike between the agent's legs and the kind script's: whether a client leg was found,
 * where it went, how many others. An HTTP request through the sidecar is the exception for the
 * others: Envoy's upstream connection pool keeps the agent's upstream connection open and the next
 * request to that cluster reuses it (no new conntrack entry), so only the client leg is compared.
 */
function legShape(legs: ProbeLegs, pooled: boolean): string {
  const client = legs.client
    ? `client leg to ${legs.client.original.dst}:${legs.client.original.dport}, redirected to ${redirectPort(legs.client) ?? 'none'}`
    : 'no client leg';
  return pooled ? `${client}; upstream legs not compared (Envoy's HTTP connection pool)` : `${client}; ${legs.others.length} other leg(s)`;
}

for (const loaded of kindScenarios) {
  serial(`${loaded.scenario.name}: the kind backend's probe, conntrack, stats and config_dump commands, run in the lab`, async (t) => {
    t.timeout(240_000);
    const prefix = newRunPrefix();
    const runDir = join(runsDir, `kind-commands-${loaded.scenario.name}-${prefix}`);
    mkdirSync(runDir, { recursive: true });
    const lab = new NetnsBackend(loaded, runDir, prefix, { engine: 'envoy' });
    const { reporter, lines } = recordingReporter();
    try {
      await lab.up(reporter);
      const conntrack = async (workload: string) => {
        const run = await lab.runNsenter(podNetnsArgv(lab.podPid(workload), ['conntrack', '-L']));
        t.is(run.exitCode, 0, run.stderr);
        return parseConntrack(run.stdout);
      };
      const https = loaded.scenario.externalServers.some((s) => s.kind === 'https');
      for (const probe of loaded.scenario.probes) {
        const w = loaded.scenario.workloads.find((x) => x.name === probe.from)!;
        const spec: ProbeSpec = probeSpec(probe);
        let before = await conntrack(w.name);
        const agent = await lab.probe(w.name, spec);
        const agentLegs = legsOfProbe(newEntries(before, await conntrack(w.name)), w.ip, agent.localPort ?? -1);

        before = await conntrack(w.name);
        const started = Date.now();
        // On kind the CA is a file curl is pointed at; in the lab the pod's trust store holds it, the file is the same CA.
        const kindSpec = https ? withCaFile(spec, join(runDir, 'ca', 'ca.crt')) : spec;
        const run = await lab.runInPod(w.name, probeShellArgv(kindSpec, randomSourcePort()));
        const kind = parseProbeOutput(kindSpec, run.stdout, Date.now() - started);
        const kindLegs = legsOfProbe(newEntries(before, await conntrack(w.name)), w.ip, kind.localPort ?? -1);

        const diffs = compareWithLab(agent, kind, probe);
        t.deepEqual(
          unexplained(diffs),
          [],
          `${probe.name}: the kind script saw otherwise than the lab's agent\nagent: ${JSON.stringify(agent)}\nkind:  ${JSON.stringify(kind)}\nscript stderr: ${run.stderr}`,
        );
        const pooled = probe.kind === 'http' && agentLegs.client !== undefined && redirectPort(agentLegs.client) !== undefined;
        t.is(legShape(kindLegs, pooled), legShape(agentLegs, pooled), `${probe.name}: conntrack legs of the kind script vs the agent`);
        if (kind.connect === 'ok')
          t.truthy(kindLegs.client, `${probe.name}: the kind script's reported port ${kind.localPort} finds its own conntrack leg`);
      }
      const installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;
      const pilotAgent = realParts().pilotAgent;
      for (const w of loaded.scenario.workloads.filter((x) => x.sidecar)) {
        const stats = await lab.runInPod(w.name, [pilotAgent, 'request', 'GET', 'stats'], PROXY_UID);
        t.is(stats.exitCode, 0, stats.stderr);
        const parsed = parseStatsText(stats.stdout);
        const own = (await lab.stats(w.name))!;
        t.true(parsed.size > 100, `pilot-agent request GET stats gave ${parsed.size} stats`);
        t.deepEqual(
          [...own.keys()].filter((k) => !parsed.has(k) && !/^(http|listener)\.admin\./.test(k)),
          [],
          'stats the lab reads that pilot-agent request does not show',
        );
        // Both iptables back ends read as on the node: the one istio-iptables wrote is the one kept, and it is the lab's own reading.
        const [nft, legacy] = await Promise.all(
          ['iptables-nft-save', 'iptables-legacy-save'].map((b) => lab.runNsenter(podNetnsArgv(lab.podPid(w.name), [b]))),
        );
        const picked = pickIptablesSave(nft!.stdout, legacy!.stdout);
        t.regex(picked.text, /^:ISTIO_OUTPUT /m, `${w.name}: the iptables back end with Istio's chains (${picked.backend})`);
        t.is(rulesOf(picked.text), rulesOf(await lab.iptablesSave(w.name)));
        const dump = await lab.runInPod(w.name, [pilotAgent, 'request', 'GET', 'config_dump'], PROXY_UID);
        t.is(dump.exitCode, 0, dump.stderr);
        // As the kind backend's gate has it: the model's prediction, or lab-istiod's dump for what the model does not read.
        const expected = (await gateExpectations(loaded, loaded.scenario, installed, join(runDir, 'expected-config'))).get(w.name)!;
        t.deepEqual(
          missingConfig(JSON.parse(dump.stdout), expected),
          [],
          `the config gate's expectations for ${w.name}, against the real Envoy's config_dump`,
        );
      }
    } catch (err) {
      t.fail(`${(err as Error).stack}\n${lines.join('\n')}`);
    } finally {
      await lab.down();
    }
    t.deepEqual(leftoverNamespaces(prefix), []);
  });
}

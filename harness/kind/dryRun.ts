/**
 * `--backend kind --dry-run`: every command a live kind run of the scenario would run, in order,
 * without running any. They are built by the same functions the backend calls (commands.ts,
 * clusterPlan.ts, probeCommands.ts, servers.ts), over the same effective scenario the runner makes.
 * What only a live cluster knows is a placeholder: a server's address `<redis-cluster:addr>`, a
 * pod's `<dev-self/sleep:pod-ip>`, an assigned ClusterIP `<dev-self/rediscluster:cluster-ip>`, the
 * pod name `<sleep pod>`, its sandbox `<sleep sandbox>` and pid `<sleep pid>`. Never a lab address
 * where kind would use another.
 */
import type { LoadedScenario } from '../scenario/load.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseIstioVersion, type IstioVersion } from '../scenario/istioVersion.ts';
import { probeSpec } from '../probes/registry.ts';
import { withCaFile } from '../probes/registry.ts';
import { ISTIO_VERSION, renderCommand, type Command } from './plan.ts';
import { clusterCommands, IMAGES, installHash, installSettings, istioInstallCommands, preloadCommands } from './clusterPlan.ts';
import { clusterIpChanges, KIND_MANIFEST_OPTIONS, scenarioManifests } from './manifests.ts';
import { toYaml } from '../k8s/objects.ts';
import { effectiveScenario, type AddressMapping } from '../scenario/addressMapping.ts';
import { expectedConfig } from '../evidence/configGate.ts';
import { probeCommand } from './probeCommands.ts';
import { kindSkipReason, LAB_CA_IN_POD } from './kindBackend.ts';
import { serverRunArgs } from './servers.ts';
import { serverType } from '../servers/registry.ts';
import * as cmd from './commands.ts';

/** One step of the plan: the command, and when a live run runs it (always, if not said). */
export interface PlanStep {
  command: Command;
  when?: string;
}

export interface KindPlan {
  /** What a live run maps, with the placeholder each real address is shown as. */
  addresses: AddressMapping[];
  steps: PlanStep[];
  manifests: string;
  /** Listeners and catch-all each sidecar must show before probing (the config gate). */
  gates: Array<{ workload: string; listeners: string[]; clusters: string[]; catchAll: string }>;
}

/**
 * Stand-ins for the addresses a live run learns (TEST-NET-2 and -3, RFC 5737: never a scenario's),
 * so the model and the manifests compute as usual; rendering swaps them for placeholders.
 */
function standIns(loaded: LoadedScenario): { mappings: AddressMapping[]; placeholder: Map<string, string> } {
  const s = loaded.scenario;
  const mappings: AddressMapping[] = [];
  const placeholder = new Map<string, string>();
  const add = (m: Omit<AddressMapping, 'real'>, real: string, shown: string) => {
    mappings.push({ ...m, real });
    placeholder.set(real, shown);
  };
  s.externalServers.forEach((srv, n) =>
    add({ what: 'external server', name: srv.name, scenario: srv.addresses[0]! }, `198.51.100.${10 + n}`, `<${srv.name}:addr>`),
  );
  s.workloads.forEach((w, n) =>
    add({ what: 'pod', name: `${w.namespace}/${w.name}`, scenario: w.ip }, `203.0.113.${10 + n}`, `<${w.namespace}/${w.name}:pod-ip>`),
  );
  clusterIpChanges(s).forEach((v, n) =>
    add(
      { what: 'Service', name: `${v.namespace}/${v.name}`, scenario: v.clusterIP },
      `203.0.113.${100 + n}`,
      `<${v.namespace}/${v.name}:cluster-ip>`,
    ),
  );
  for (const a of [...placeholder.keys()]) {
    if (JSON.stringify(s).includes(`"${a}`)) throw new Error(`${s.name}: the scenario uses ${a}, which the dry-run needs as a stand-in`);
  }
  return { mappings, placeholder };
}

export function kindPlan(loaded: LoadedScenario): KindPlan & { placeholder: Map<string, string> } {
  const skip = kindSkipReason(loaded);
  if (skip) throw new Error(skip);
  const { mappings, placeholder } = standIns(loaded);
  const servers = mappings.filter((m) => m.what === 'external server');
  // As the runner does: manifests from the scenario with the servers' addresses, the rest once kind assigned them.
  const deployed = effectiveScenario(loaded.scenario, servers);
  const scenario = effectiveScenario(loaded.scenario, mappings);
  const manifests = toYaml(scenarioManifests(deployed, KIND_MANIFEST_OPTIONS));
  const installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;
  const name = scenario.name;
  const pod = (w: string) => `<${w} pod>`;
  const always = (c: Command): PlanStep => ({ command: c });
  const steps: PlanStep[] = [
    always(cmd.listClusters()),
    { command: cmd.managedNodes(), when: 'when the cluster exists' },
    ...clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: false, managed: false }).map((c) => ({
      command: c,
      when: 'when the cluster does not exist',
    })),
    ...preloadCommands(IMAGES).map((c) => ({ command: c, when: 'when the cluster was just created' })),
    always(cmd.installedSettings()),
    ...istioInstallCommands(installSettings(loaded.scenario)).map((c) => ({
      command: c,
      when: `when istiod is not installed with these settings (hash ${installHash(installSettings(loaded.scenario))})`,
    })),
    ...loaded.scenario.externalServers.map((srv) =>
      always({
        program: 'docker',
        args: serverRunArgs(srv, name),
        why: `external ${srv.kind} server ${srv.name} (testcontainers starts it and waits for its ready line); its address <${srv.name}:addr> replaces ${srv.addresses[0]}`,
      }),
    ),
    ...cmd.deleteScenario(name, 'clear what an earlier run left').map(always),
    always(cmd.applyManifests(manifests)),
    ...scenario.workloads.flatMap((w) => [always(cmd.rolloutStatus(w.namespace, w.name)), always(cmd.listPods(w.namespace, w.name))]),
    always(cmd.listServices(name)),
    ...(scenario.externalServers.some((s) => serverType(s.kind).container(s).tls)
      ? scenario.workloads.map((w) => always(cmd.installCa(w.namespace, pod(w.name), LAB_CA_IN_POD, '<the run CA>')))
      : []),
    ...scenario.workloads
      .filter((w) => w.sidecar)
      .map((w) => ({
        command: cmd.pilotAgentRequest(w.namespace, pod(w.name), 'config_dump'),
        when: 'polled until the config gate passes',
      })),
  ];
  const pidKnown = new Set<string>();
  const pid = (w: { name: string; namespace: string }): PlanStep[] => {
    if (pidKnown.has(w.name)) return [];
    pidKnown.add(w.name);
    return [always(cmd.podSandbox(w.namespace, pod(w.name))), always(cmd.sandboxInfo(`<${w.name} sandbox>`))];
  };
  const byName = (n: string) => scenario.workloads.find((w) => w.name === n)!;
  for (const a of scenario.assertions) steps.push(...pid(byName(a.workload)), ...cmd.podIptables(`<${a.workload} pid>`).map(always));
  const ca = scenario.externalServers.some((s) => serverType(s.kind).container(s).tls);
  for (const probe of scenario.probes) {
    const w = byName(probe.from);
    const evidence = (when: string) => [
      always(cmd.podConntrack(`<${w.name} pid>`, `conntrack ${when} ${probe.name}`)),
      ...(w.sidecar ? [always(cmd.pilotAgentRequest(w.namespace, pod(w.name), 'stats'))] : []),
    ];
    const spec = ca ? withCaFile(probeSpec(probe), LAB_CA_IN_POD) : probeSpec(probe);
    steps.push(
      ...pid(w),
      ...evidence('before'),
      always(probeCommand(spec, pod(w.name), w.namespace, '<source port>')),
      ...evidence('after'),
    );
  }
  for (const w of scenario.workloads.filter((x) => x.sidecar)) {
    steps.push(
      always(cmd.pilotAgentRequest(w.namespace, pod(w.name), 'config_dump')),
      always(cmd.proxyLogs(w.namespace, pod(w.name))),
      ...pid(w),
      ...cmd.podIptables(`<${w.name} pid>`).map(always),
    );
  }
  steps.push(...cmd.deleteScenario(name, 'remove the scenario (the cluster and Istio stay)').map(always));
  const gates = scenario.workloads
    .filter((w) => w.sidecar)
    .map((w) => ({ workload: w.name, ...expectedConfig(buildProxyConfig(scenario, installed, w)) }));
  return { addresses: mappings, steps, manifests, gates, placeholder };
}

/** Replaces whole addresses (not 198.51.100.100 for 198.51.100.10). */
function withPlaceholders(text: string, placeholder: Map<string, string>): string {
  const keys = [...placeholder.keys()].sort((a, b) => b.length - a.length).map((k) => k.replace(/\./g, '\\.'));
  if (keys.length === 0) return text;
  return text.replace(new RegExp(`(?<![\\d.])(${keys.join('|')})(?![\\d])`, 'g'), (a) => placeholder.get(a) ?? a);
}

export function renderPlan(plan: KindPlan & { placeholder: Map<string, string> }): string {
  const lines = [
    `# Istio ${ISTIO_VERSION} on kind; addresses a live run learns are placeholders:`,
    ...plan.addresses.map((m) => `#   ${m.what} ${m.name}: scenario ${m.scenario} -> ${plan.placeholder.get(m.real)}`),
    ...plan.gates.map(
      (g) =>
        `# gate ${g.workload}: listeners ${g.listeners.join(', ') || '-'}; clusters ${g.clusters.join(', ') || '-'}; catch-all ${g.catchAll}`,
    ),
  ];
  for (const { command, when } of plan.steps) lines.push(`# ${command.why}${when ? ` (${when})` : ''}`, renderCommand(command));
  lines.push(
    '# the manifests applied above:',
    ...plan.manifests
      .trimEnd()
      .split('\n')
      .map((l) => `#   ${l}`),
  );
  return `${withPlaceholders(lines.join('\n'), plan.placeholder)}\n`;
}

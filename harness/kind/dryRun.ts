/**
 * `--backend kind --dry-run`: the whole command plan of a scenario on kind, without running any of
 * it. Container addresses are not known before Docker assigns them, so the plan uses stand-ins on
 * kind's usual subnet (172.18.0.0/16) and says so.
 */
import type { LoadedScenario } from '../scenario/load.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseIstioVersion, type IstioVersion } from '../scenario/istioVersion.ts';
import { probeSpec } from '../probes/registry.ts';
import { CLUSTER_NAME, ISTIO_VERSION, KUBE_CONTEXT, renderCommand, type Command } from './plan.ts';
import { clusterCommands, istioInstallCommands, MARIADB_IMAGE, REDIS_IMAGE, HTTPBIN_IMAGE } from './clusterPlan.ts';
import { KIND_MANIFEST_OPTIONS, LABELLED_KINDS, scenarioManifests } from './manifests.ts';
import { SCENARIO_LABEL, toYaml } from '../k8s/objects.ts';
import { substituteAddresses, type AddressMap } from './addresses.ts';
import { expectedConfig } from '../evidence/configGate.ts';
import { probeCommand } from './probeCommands.ts';
import { kindSkipReason } from './kindBackend.ts';

export interface KindPlan {
  /** Lab address → the stand-in the plan uses for the container's address. */
  addresses: AddressMap;
  commands: Command[];
  manifests: string;
  /** Listeners and catch-all each sidecar must show before probing (the config gate). */
  gates: Array<{ workload: string; listeners: string[]; clusters: string[]; catchAll: string }>;
}

const IMAGE_FOR: Record<string, string> = { redis: REDIS_IMAGE, mysql: MARIADB_IMAGE, http: HTTPBIN_IMAGE, https: HTTPBIN_IMAGE };

export function kindPlan(loaded: LoadedScenario): KindPlan {
  const skip = kindSkipReason(loaded);
  if (skip) throw new Error(skip);
  const addresses: AddressMap = new Map(loaded.scenario.externalServers.map((srv, n) => [srv.addresses[0]!, `172.18.0.${10 + n}`]));
  const scenario = substituteAddresses(loaded.scenario, addresses);
  const manifests = toYaml(scenarioManifests(scenario, KIND_MANIFEST_OPTIONS));
  const k = (why: string, ...args: string[]): Command => ({ program: 'kubectl', args: ['--context', KUBE_CONTEXT, ...args], why });
  const installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;
  const commands: Command[] = [
    ...clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: false, managed: false }),
    ...istioInstallCommands(),
    ...scenario.externalServers.map((srv): Command => ({
      program: 'docker',
      args: ['run', '-d', '--network', 'kind', '--label', `egress-lab.io/scenario=${scenario.name}`, IMAGE_FOR[srv.kind] ?? HTTPBIN_IMAGE],
      why: `external ${srv.kind} server ${srv.name} (testcontainers does this; its address replaces ${loaded.scenario.externalServers.find((s) => s.name === srv.name)?.addresses[0]})`,
    })),
    { ...k('apply the generated manifests', 'apply', '-f', '-'), input: manifests },
    ...scenario.workloads.map((w) => k(`wait for ${w.name}`, '-n', w.namespace, 'rollout', 'status', `deploy/${w.name}`, '--timeout=5m')),
    ...scenario.workloads.filter((w) => w.sidecar).map((w) => k(`config gate: poll ${w.name}'s sidecar until the expected listeners are there`, 'exec', '-n', w.namespace, `<${w.name} pod>`, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'config_dump')),
  ];
  for (const probe of scenario.probes) {
    const w = scenario.workloads.find((x) => x.name === probe.from)!;
    commands.push({
      program: 'docker',
      args: ['exec', `${CLUSTER_NAME}-control-plane`, 'sh', '-c', `nsenter -t $(crictl inspectp $(crictl pods --name '^<${w.name} pod>$' -q) | jq .info.pid) -n conntrack -L`],
      why: `conntrack before ${probe.name}`,
    });
    if (w.sidecar) commands.push(k(`stats before ${probe.name}`, 'exec', '-n', w.namespace, `<${w.name} pod>`, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'stats'));
    commands.push(probeCommand(probeSpec(probe), `<${w.name} pod>`, w.namespace));
  }
  commands.push(k('remove the scenario\'s objects in shared namespaces', 'delete', LABELLED_KINDS, '-A', '-l', `${SCENARIO_LABEL}=${scenario.name}`, '--wait=false'));
  commands.push(k('remove the scenario (the cluster and Istio stay for the next one)', 'delete', 'namespace', '-l', `${SCENARIO_LABEL}=${scenario.name}`, '--wait=false'));
  const gates = scenario.workloads.filter((w) => w.sidecar).map((w) => ({ workload: w.name, ...expectedConfig(buildProxyConfig(scenario, installed, w)) }));
  return { addresses, commands, manifests, gates };
}

export function renderPlan(plan: KindPlan): string {
  const lines = [
    `# addresses: containers get theirs from Docker; this plan assumes ${[...plan.addresses].map(([a, b]) => `${a} -> ${b}`).join(', ') || 'none'}`,
    ...plan.gates.map((g) => `# gate ${g.workload}: listeners ${g.listeners.join(', ') || '-'}; clusters ${g.clusters.join(', ') || '-'}; catch-all ${g.catchAll}`),
  ];
  for (const c of plan.commands) lines.push(`# ${c.why}`, renderCommand(c));
  return `${lines.join('\n')}\n`;
}

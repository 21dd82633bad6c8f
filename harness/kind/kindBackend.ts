/**
 * The kind backend: the scenario on a real kind cluster with real Istio. External servers are Docker
 * containers on the `kind` network (testcontainers, harness/kind/servers.ts); workloads, Services,
 * ServiceEntries, VirtualServices and the outbound policy (a Sidecar resource) are generated
 * manifests; evidence comes from `kubectl exec` (probes, pilot-agent stats and config_dump) and from
 * the node container (conntrack and iptables in the pod's netns).
 *
 * It keeps no scenario of its own: up() reports the servers' real addresses, deploy() the pod IPs
 * and ClusterIPs kind assigned, and the runner passes the effective scenario back
 * (harness/scenario/addressMapping.ts). Every cluster command is one of harness/kind/commands.ts,
 * which `--dry-run` lists too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { GenericContainer, StartedTestContainer } from 'testcontainers';
import type { Backend, Progress } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import { withCaFile } from '../probes/registry.ts';
import { parseConntrack, type ConntrackEntry } from '../evidence/conntrack.ts';
import { parseStatsText } from '../core/stats.ts';
import { unmodelled } from '../model/unmodelled.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseIstioVersion, type IstioVersion } from '../scenario/istioVersion.ts';
import { proxyConfigView } from '../views/proxyConfig.ts';
import { CLUSTER_NAME, ISTIO_VERSION, KUBE_CONTEXT, renderCommand, type Command } from './plan.ts';
import { probeCommand, parseProbeOutput, randomSourcePort } from './probeCommands.ts';
import {
  clusterCommands,
  IMAGE_ARCHIVE_DIR,
  IMAGES,
  installHash,
  installSettings,
  istioInstallCommands,
  preloadCommands,
} from './clusterPlan.ts';
import { defaultCacheDir, resolveTool } from './tools.ts';
import { KIND_MANIFEST_OPTIONS, scenarioManifests } from './manifests.ts';
import { LAB_CLUSTER_IP_ANNOTATION, toYaml } from '../k8s/objects.ts';
import { unmappedAddresses, type AddressMapping } from '../scenario/addressMapping.ts';
import { expectedConfig, expectedFromDump, missingConfig, waitForConfig, type ExpectedConfig } from '../evidence/configGate.ts';
import { controlPlaneInputs } from '../istio/controlPlaneInputs.ts';
import { dumpGeneratedConfig, writeControlPlaneInputs } from '../istio/controlPlane.ts';
import { realParts, realPartsMissing } from '../istio/parts.ts';
import { assignedClusterIps, parseCrictlPods, parseInspectpPid, parseKindGetClusters, pickIptablesSave, pickPod } from './parsers.ts';
import { createLabCa, issueServerCert, type LabCa } from '../servers/certs.ts';
import * as cmd from './commands.ts';
import { serverContainer } from './servers.ts';
import { HTTPS_FILES } from '../servers/https.ts';
import { serverType } from '../servers/registry.ts';

/** Where the client pod keeps the run's CA certificate. */
export const LAB_CA_IN_POD = '/tmp/egress-lab-ca.crt';

/**
 * What the config gate waits for in each sidecar (by workload name) of the effective scenario: the
 * model's prediction, or, for a scenario the model does not fully read, what Istio's generator gives
 * (lab-istiod dump of the same objects, written to inputsDir).
 */
export async function gateExpectations(
  loaded: LoadedScenario,
  scenario: Scenario,
  installed: IstioVersion,
  inputsDir: string,
): Promise<Map<string, ExpectedConfig>> {
  const sidecars = scenario.workloads.filter((w) => w.sidecar);
  if (unmodelled(loaded).length === 0)
    return new Map(sidecars.map((w) => [w.name, expectedConfig(buildProxyConfig(scenario, installed, w))]));
  const dir = writeControlPlaneInputs(inputsDir, controlPlaneInputs(scenario));
  const refs = sidecars.map((w) => `${w.namespace}/${w.name}`);
  const generated = await dumpGeneratedConfig(realParts().labIstiod, dir, refs);
  return new Map(sidecars.map((w) => [w.name, expectedFromDump(generated[`${w.namespace}/${w.name}`])]));
}

/** Why a scenario cannot run on kind, or undefined when it can. */
export function kindSkipReason(loaded: LoadedScenario): string | undefined {
  if (loaded.istio.era === 'legacy') {
    return `scenario assumes Istio ${loaded.istio.text} (the seed era); the kind backend installs Istio ${ISTIO_VERSION} and cannot run 1.4-1.6 behaviour`;
  }
  // istiod orders conflicting objects by age; a cluster's API server sets creationTimestamp itself.
  const aged = loaded.scenario.objects.filter((o) => (o.metadata as { creationTimestamp?: unknown }).creationTimestamp !== undefined);
  if (aged.length > 0)
    return `the scenario gives creationTimestamp (${aged.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}), by which istiod orders conflicting objects, and a cluster's API server sets it itself`;
  // The config gate of a scenario the model does not fully read is the config Istio's own generator
  // gives (lab-istiod dump), which `npm run setup` builds.
  const missing = realPartsMissing();
  if (unmodelled(loaded).length > 0 && missing)
    return `its config gate needs lab-istiod to say what istiod generates for its objects: ${missing}`;
  return undefined;
}

interface KindPod {
  pod: string;
  namespace: string;
  ip: string;
}

export class KindBackend implements Backend {
  readonly name = 'kind';
  readonly sidecar = {
    engine: 'istio-proxy' as const,
    describe: `the cluster's own istio-proxy (Istio ${ISTIO_VERSION}, Envoy from istio/proxy)`,
    statsListEveryName: false,
  };
  private containers: StartedTestContainer[] = [];
  private readonly installed: IstioVersion;
  private pods = new Map<string, KindPod>();
  private pids = new Map<string, number>();
  /** The pinned kind/kubectl/istioctl: from PATH when the version matches, else the checksum-verified cache. */
  private tools = new Map<string, string>();
  private ca?: LabCa;

  constructor(
    private readonly loaded: LoadedScenario,
    readonly runDir: string,
    private readonly progressLog: (line: string) => void = () => undefined,
  ) {
    this.installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;
  }

  private get scenarioName(): string {
    return this.loaded.scenario.name;
  }

  /** Runs one planned command; the result even when it failed. */
  private run(c: Command) {
    this.progressLog(`$ ${renderCommand(c)}`);
    return execa(this.tools.get(c.program) ?? c.program, c.args, { input: c.input, reject: false, timeout: 600_000 });
  }

  /** Runs one planned command and returns its stdout (stderr stays apart: kubectl warns there), failing with its output. */
  private async exec(c: Command): Promise<string> {
    const r = await this.run(c);
    if (r.exitCode !== 0) throw new Error(`${renderCommand(c)} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async up(progress: Progress): Promise<AddressMapping[]> {
    const skip = kindSkipReason(this.loaded);
    if (skip) throw new Error(skip);
    mkdirSync(this.runDir, { recursive: true });
    for (const name of ['kind', 'kubectl', 'istioctl'] as const) {
      const tool = await resolveTool(name, { cacheDir: defaultCacheDir(), allowDownload: true, log: (l: string) => progress.step(l) });
      this.tools.set(name, tool.path);
    }
    const listed = await this.run(cmd.listClusters());
    const exists = parseKindGetClusters(listed.stdout, listed.stderr).includes(CLUSTER_NAME);
    const managed = exists && (await this.run(cmd.managedNodes())).stdout.trim() !== '';
    for (const c of clusterCommands({ configPath: 'kind-config/cluster.yaml', exists, managed })) {
      progress.step(c.why);
      await this.exec(c);
    }
    if (!exists) {
      // A new node has no images: load them from the host's Docker so pods never pull.
      mkdirSync(IMAGE_ARCHIVE_DIR, { recursive: true });
      for (const c of preloadCommands(IMAGES)) {
        progress.step(c.why);
        await this.exec(c);
      }
    }
    const settings = installSettings(this.loaded.scenario);
    const installed = await this.run(cmd.installedSettings());
    if (installed.exitCode !== 0 || installed.stdout.trim() !== installHash(settings)) {
      for (const c of istioInstallCommands(settings)) {
        progress.step(c.why);
        await this.exec(c);
      }
    }
    progress.step('external servers as containers on the kind network (each awaited until it serves)');
    const mappings = await this.startServers();
    const missing = unmappedAddresses(this.loaded.scenario, new Map(mappings.map((m) => [m.scenario, m.real])));
    if (missing.length) throw new Error(`lab addresses without a container on kind: ${missing.join(', ')}`);
    return mappings;
  }

  /** Applies the effective scenario and reports the pod IPs and ClusterIPs kind gave it. */
  async deploy(scenario: Scenario, progress: Progress): Promise<AddressMapping[]> {
    for (const c of cmd.deleteScenario(this.scenarioName, 'clear what an earlier run left')) await this.exec(c);
    const objects = scenarioManifests(scenario, KIND_MANIFEST_OPTIONS);
    const yaml = toYaml(objects);
    writeFileSync(join(this.runDir, 'manifests.yaml'), yaml);
    progress.step(`applying ${objects.length} objects`);
    await this.exec(cmd.applyManifests(yaml));
    const mappings: AddressMapping[] = [];
    for (const w of scenario.workloads) {
      await this.exec(cmd.rolloutStatus(w.namespace, w.name));
      const pod = pickPod(await this.exec(cmd.listPods(w.namespace, w.name)), w.name);
      this.pods.set(w.name, { pod: pod.name, namespace: w.namespace, ip: pod.ip });
      mappings.push({ what: 'pod', name: `${w.namespace}/${w.name}`, scenario: w.ip, real: pod.ip });
    }
    for (const svc of assignedClusterIps(await this.exec(cmd.listServices(this.scenarioName)), LAB_CLUSTER_IP_ANNOTATION)) {
      if (svc.scenario !== svc.assigned)
        mappings.push({ what: 'Service', name: `${svc.namespace}/${svc.name}`, scenario: svc.scenario, real: svc.assigned });
    }
    await this.installCa();
    return mappings;
  }

  /** The config gate: each sidecar has the listeners and catch-all the model predicts for the effective scenario. */
  async settle(scenario: Scenario, progress: Progress): Promise<void> {
    const expectations = await gateExpectations(this.loaded, scenario, this.installed, join(this.runDir, 'expected-config'));
    for (const w of scenario.workloads.filter((x) => x.sidecar)) {
      const expected = expectations.get(w.name)!;
      const fetch = async (): Promise<unknown> => JSON.parse(await this.pilotAgent(w.name, 'config_dump'));
      const r = await waitForConfig(fetch, expected, {
        timeoutMs: 60_000,
        intervalMs: 500,
        sleep: (ms: number) => new Promise<void>((res) => setTimeout(res, ms)),
        now: () => Date.now(),
      });
      if (!r.ok) throw new Error(`config never landed in ${w.name}'s sidecar: missing ${r.missing.join(', ')}`);
      progress.step(`config landed in ${w.name}'s sidecar after ${r.polls} poll(s)`);
    }
  }

  private async startServers(): Promise<AddressMapping[]> {
    const mappings: AddressMapping[] = [];
    for (const srv of this.loaded.scenario.externalServers) {
      let container = await serverContainer(srv);
      if (serverType(srv.kind).container(srv).tls)
        container = await this.withLabCertificate(container, srv.hostnames.length ? srv.hostnames : srv.addresses);
      const started = await container.withNetworkMode('kind').withLabels({ 'egress-lab.io/scenario': this.scenarioName }).start();
      this.containers.push(started);
      mappings.push({ what: 'external server', name: srv.name, scenario: srv.addresses[0]!, real: started.getIpAddress('kind') });
    }
    return mappings;
  }

  /**
   * HTTPS servers hold a certificate for their hostnames signed by a CA this run creates, as in the
   * lab; probes trust that CA through curl --cacert (the client pod gets the CA file in /tmp). The
   * container's environment (servers/https.ts) names the files.
   */
  private async withLabCertificate(container: GenericContainer, names: string[]): Promise<GenericContainer> {
    this.ca ??= await createLabCa(join(this.runDir, 'ca'));
    const cert = await issueServerCert(this.ca, join(this.runDir, 'ca'), names);
    return container.withCopyContentToContainer([
      { content: cert.certPem, target: HTTPS_FILES.cert },
      { content: cert.keyPem, target: HTTPS_FILES.key, mode: 0o644 },
    ]);
  }

  /** Puts the lab CA where the client's curl can read it (the app runs as uid 1000; /tmp is writable). */
  private async installCa(): Promise<void> {
    if (!this.ca) return;
    for (const { pod, namespace } of this.pods.values()) await this.exec(cmd.installCa(namespace, pod, LAB_CA_IN_POD, this.ca.certPem));
  }

  private pod(workload: string): KindPod {
    const p = this.pods.get(workload);
    if (!p) throw new Error(`no pod for workload ${workload}`);
    return p;
  }

  private pilotAgent(workload: string, path: string): Promise<string> {
    const { pod, namespace } = this.pod(workload);
    return this.exec(cmd.pilotAgentRequest(namespace, pod, path));
  }

  /** Real Istio may still be settling after the config gate: the runner retries expected successes. */
  readonly retry = { attempts: 3, delayMs: 1000 };

  async probe(workload: string, given: ProbeSpec): Promise<ProbeResult> {
    const { pod, namespace } = this.pod(workload);
    const spec = this.ca ? withCaFile(given, LAB_CA_IN_POD) : given;
    const started = Date.now();
    // The script's own exit code is in its trailer; kubectl exits with it too, so a non-zero exit is no failure here.
    const r = await this.run(probeCommand(spec, pod, namespace, randomSourcePort()));
    try {
      return parseProbeOutput(spec, r.stdout, Date.now() - started);
    } catch (err) {
      throw new Error(`${(err as Error).message}; kubectl exec said: ${r.stderr.trim()}`, { cause: err });
    }
  }

  /** The pid (in the node container) of the pod's sandbox; its netns is the pod's. */
  private async podPid(workload: string): Promise<number> {
    const known = this.pids.get(workload);
    if (known) return known;
    const { pod, namespace } = this.pod(workload);
    const [sandbox] = parseCrictlPods(await this.exec(cmd.podSandbox(namespace, pod)));
    if (!sandbox) throw new Error(`crictl found no ready sandbox for ${namespace}/${pod}`);
    const pid = parseInspectpPid(await this.exec(cmd.sandboxInfo(sandbox)));
    this.pids.set(workload, pid);
    return pid;
  }

  async conntrack(workload: string): Promise<ConntrackEntry[]> {
    return parseConntrack(await this.exec(cmd.podConntrack(await this.podPid(workload), `${workload}'s conntrack table`)));
  }

  async iptablesSave(workload: string): Promise<string> {
    const [nft, legacy] = cmd.podIptables(await this.podPid(workload));
    return pickIptablesSave((await this.run(nft!)).stdout, (await this.run(legacy!)).stdout).text;
  }

  async stats(workload: string): Promise<Map<string, number> | undefined> {
    if (!this.loaded.scenario.workloads.find((w) => w.name === workload)?.sidecar) return undefined;
    return parseStatsText(await this.pilotAgent(workload, 'stats'));
  }

  async collectArtifacts(scenario: Scenario): Promise<void> {
    for (const w of scenario.workloads.filter((x) => x.sidecar)) {
      const dir = join(this.runDir, 'pods', w.name);
      mkdirSync(dir, { recursive: true });
      const dump = await this.pilotAgent(w.name, 'config_dump');
      writeFileSync(join(dir, 'config_dump.json'), dump);
      for (const kind of ['listener', 'cluster', 'route', 'endpoint'] as const)
        writeFileSync(join(dir, `proxy-config-${kind}.txt`), proxyConfigView(kind, JSON.parse(dump)));
      const { pod, namespace } = this.pod(w.name);
      writeFileSync(join(dir, 'access.log'), await this.exec(cmd.proxyLogs(namespace, pod)));
      writeFileSync(join(dir, 'iptables-save.txt'), await this.iptablesSave(w.name));
      writeFileSync(
        join(dir, 'missing-config.txt'),
        missingConfig(JSON.parse(dump), expectedConfig(buildProxyConfig(scenario, this.installed, w))).join('\n'),
      );
    }
  }

  keepInstructions(): string[] {
    return [...this.pods.values()]
      .flatMap(({ pod, namespace }) => [
        `kubectl --context ${KUBE_CONTEXT} exec -n ${namespace} ${pod} -c app -- sh`,
        `kubectl --context ${KUBE_CONTEXT} exec -n ${namespace} ${pod} -c istio-proxy -- pilot-agent request GET stats`,
      ])
      .concat([`npm run lab -- down --backend kind   # deletes the egress-lab kind cluster`]);
  }

  private stopping?: Promise<void>;

  down(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  /**
   * The cluster and Istio stay for the next scenario; this scenario's objects, namespaces and
   * containers go, and teardown waits until the namespaces are gone, so the next scenario's apply
   * never meets a terminating namespace.
   */
  private async teardown(): Promise<void> {
    if (this.tools.size > 0)
      for (const c of cmd.deleteScenario(this.scenarioName, 'remove the scenario (the cluster and Istio stay)')) await this.run(c);
    await Promise.all(this.containers.map((c) => c.stop().catch(() => undefined)));
  }
}

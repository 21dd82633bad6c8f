/**
 * The kind backend: the scenario on a real kind cluster with real Istio. External servers are Docker
 * containers on the `kind` network (testcontainers), their real addresses substituted for the
 * scenario's lab addresses; workloads, Services, ServiceEntries, VirtualServices and the outbound
 * policy (a Sidecar resource) are generated manifests; evidence comes from `kubectl exec` (probes,
 * pilot-agent stats and config_dump) and from the node container (conntrack in the pod's netns).
 *
 * Everything it runs is a Command (plan.ts), so `--dry-run` prints the plan and tests check it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import Docker from 'dockerode';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import type { Backend, Progress } from '../backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import { parseConntrack, type ConntrackEntry } from '../evidence/conntrack.ts';
import { parseStatsText } from '../model/stats.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseIstioVersion, type IstioVersion } from '../scenario/istioVersion.ts';
import { proxyConfigView } from '../views/proxyConfig.ts';
import { CLUSTER_NAME, ISTIO_VERSION, KUBE_CONTEXT, renderCommand, type Command } from './plan.ts';
import { probeCommand, parseProbeOutput } from './probeCommands.ts';
import { withCaFile } from '../probes/registry.ts';
import { clusterCommands, istioInstallCommands, MARIADB_IMAGE, REDIS_IMAGE, HTTPBIN_IMAGE } from './clusterPlan.ts';
import { defaultCacheDir, resolveTool } from './tools.ts';
import { KIND_MANIFEST_OPTIONS, LABELLED_KINDS, scenarioManifests } from './manifests.ts';
import { LAB_CLUSTER_IP_ANNOTATION, MARIADB_ENV, SCENARIO_LABEL, toYaml } from '../k8s/objects.ts';
import { substituteAddresses, unmappedAddresses, type AddressMap } from './addresses.ts';
import { expectedConfig, missingConfig, waitForConfig } from '../evidence/configGate.ts';
import { parseInspectpPid } from './parsers.ts';
import { createLabCa, issueServerCert, type LabCa } from '../servers/certs.ts';

/** Where the client pod keeps the run's CA certificate. */
const LAB_CA_IN_POD = '/tmp/egress-lab-ca.crt';


/** Why a scenario cannot run on kind, or undefined when it can. */
export function kindSkipReason(loaded: LoadedScenario): string | undefined {
  if (loaded.istio.era === 'legacy') {
    return `scenario assumes Istio ${loaded.istio.text} (the seed era); the kind backend installs Istio ${ISTIO_VERSION} and cannot run 1.4-1.6 behaviour`;
  }
  return undefined;
}

function kubectl(...args: string[]): Command {
  return { program: 'kubectl', args: ['--context', KUBE_CONTEXT, ...args], why: args.slice(0, 2).join(' ') };
}

export class KindBackend implements Backend {
  readonly name = 'kind';
  readonly sidecar = { engine: 'istio-proxy' as const, describe: `the cluster's own istio-proxy (Istio ${ISTIO_VERSION})`, statsListEveryName: false };
  private readonly docker = new Docker();
  private containers: StartedTestContainer[] = [];
  private scenario: Scenario;
  private readonly installed: IstioVersion;
  private pods = new Map<string, { pod: string; namespace: string }>();
  /** The pinned kind/kubectl/istioctl: from PATH when the version matches, else the checksum-verified cache. */
  private tools = new Map<string, string>();
  private ca?: LabCa;

  constructor(
    private readonly loaded: LoadedScenario,
    readonly runDir: string,
    private readonly progressLog: (line: string) => void = () => undefined,
  ) {
    this.scenario = loaded.scenario;
    this.installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;
  }

  /** Runs one planned command, failing with its output. */
  private async exec(c: Command): Promise<string> {
    this.progressLog(`$ ${renderCommand(c)}`);
    const r = await execa(this.tools.get(c.program) ?? c.program, c.args, { input: c.input, reject: false, timeout: 600_000 });
    if (r.exitCode !== 0) throw new Error(`${renderCommand(c)} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async up(progress: Progress): Promise<void> {
    const skip = kindSkipReason(this.loaded);
    if (skip) throw new Error(skip);
    mkdirSync(this.runDir, { recursive: true });
    for (const name of ['kind', 'kubectl', 'istioctl'] as const) {
      const tool = await resolveTool(name, { cacheDir: defaultCacheDir(), allowDownload: true, log: (l: string) => progress.step(l) });
      this.tools.set(name, tool.path);
    }
    const tool = (n: string) => this.tools.get(n) ?? n;
    const clusters = (await execa(tool('kind'), ['get', 'clusters'], { reject: false })).stdout.split('\n');
    const exists = clusters.includes(CLUSTER_NAME);
    const managed = exists && (await execa(tool('kubectl'), ['--context', KUBE_CONTEXT, 'get', 'nodes', '-l', 'egress-lab.io/managed=true', '-o', 'name'], { reject: false })).stdout.trim() !== '';
    for (const c of clusterCommands({ configPath: 'kind-config/cluster.yaml', exists, managed })) {
      progress.step(c.why);
      await this.exec(c);
    }
    const istiod = await execa(tool('kubectl'), ['--context', KUBE_CONTEXT, '-n', 'istio-system', 'get', 'deploy', 'istiod'], { reject: false });
    if (istiod.exitCode !== 0) for (const c of istioInstallCommands()) await this.exec(c);
    progress.step('external servers as containers on the kind network');
    const map = await this.startServers();
    const missing = unmappedAddresses(this.scenario, map);
    if (missing.length) throw new Error(`lab addresses without a container on kind: ${missing.join(', ')}`);
    this.scenario = substituteAddresses(this.scenario, map);
    const objects = scenarioManifests(this.scenario, KIND_MANIFEST_OPTIONS);
    const yaml = toYaml(objects);
    writeFileSync(join(this.runDir, 'manifests.yaml'), yaml);
    progress.step(`applying ${objects.length} objects`);
    await this.exec({ ...kubectl('apply', '-f', '-'), input: yaml });
    await this.adoptClusterIps();
    for (const w of this.scenario.workloads) {
      await this.exec(kubectl('-n', w.namespace, 'rollout', 'status', `deploy/${w.name}`, '--timeout=5m'));
      const pod = (await this.exec(kubectl('-n', w.namespace, 'get', 'pods', '-l', `app=${w.name}`, '-o', 'jsonpath={.items[0].metadata.name}'))).trim();
      this.pods.set(w.name, { pod, namespace: w.namespace });
    }
    await this.installCa();
    await this.gate(progress);
  }

  /**
   * kind assigns its own ClusterIPs (the scenario's usually lie outside 10.96.0.0/16): probes and
   * expectations that name the scenario's ClusterIP are rewritten to the one kind assigned.
   */
  private async adoptClusterIps(): Promise<void> {
    const out = await this.exec(kubectl('get', 'services', '-A', '-l', `${SCENARIO_LABEL}=${this.loaded.scenario.name}`, '-o', 'json'));
    const items = (JSON.parse(out) as { items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { clusterIP?: string } }> }).items;
    const map: AddressMap = new Map();
    for (const svc of items) {
      const lab = svc.metadata.annotations?.[LAB_CLUSTER_IP_ANNOTATION];
      if (lab && svc.spec.clusterIP && lab !== svc.spec.clusterIP) map.set(lab, svc.spec.clusterIP);
    }
    if (map.size > 0) this.scenario = substituteAddresses(this.scenario, map);
  }

  /** Waits until each sidecar has the listeners and catch-all the model predicts; never a fixed sleep. */
  private async gate(progress: Progress): Promise<void> {
    for (const w of this.scenario.workloads.filter((x) => x.sidecar)) {
      const expected = expectedConfig(buildProxyConfig(this.scenario, this.installed, w));
      const fetch = async () => JSON.parse(await this.pilotAgent(w.name, 'GET', 'config_dump'));
      const r = await waitForConfig(fetch, expected, { timeoutMs: 60_000, intervalMs: 500, sleep: (ms: number) => new Promise<void>((res) => setTimeout(res, ms)), now: () => Date.now() });
      if (!r.ok) throw new Error(`config never landed in ${w.name}'s sidecar: missing ${r.missing.join(', ')}`);
      progress.step(`config landed in ${w.name}'s sidecar after ${r.polls} poll(s)`);
    }
  }

  private async startServers(): Promise<AddressMap> {
    const map: AddressMap = new Map();
    for (const srv of this.scenario.externalServers) {
      let container = serverContainer(srv.kind, srv.ports, srv.password);
      if (srv.kind === 'https') container = await this.withLabCertificate(container, srv.hostnames.length ? srv.hostnames : srv.addresses);
      const started = await container.withNetworkMode('kind').start();
      this.containers.push(started);
      map.set(srv.addresses[0]!, started.getIpAddress('kind'));
    }
    return map;
  }

  /**
   * HTTPS servers hold a certificate for their hostnames signed by a CA this run creates, as in the
   * lab; probes trust that CA through curl --cacert (the client pod gets the CA file in /tmp).
   */
  private async withLabCertificate(container: GenericContainer, names: string[]): Promise<GenericContainer> {
    this.ca ??= await createLabCa(join(this.runDir, 'ca'));
    const cert = await issueServerCert(this.ca, join(this.runDir, 'ca'), names);
    return container
      .withCopyContentToContainer([
        { content: cert.certPem, target: '/certs/server.crt' },
        { content: cert.keyPem, target: '/certs/server.key', mode: 0o644 },
      ])
      .withEnvironment({ HTTPS_CERT_FILE: '/certs/server.crt', HTTPS_KEY_FILE: '/certs/server.key' });
  }

  /** Puts the lab CA where the client's curl can read it (the app runs as uid 1000; /tmp is writable). */
  private async installCa(): Promise<void> {
    if (!this.ca) return;
    for (const { pod, namespace } of this.pods.values()) {
      await this.exec({ ...kubectl('exec', '-i', '-n', namespace, pod, '-c', 'app', '--', 'sh', '-c', `cat > ${LAB_CA_IN_POD}`), input: this.ca.certPem });
    }
  }

  private pod(workload: string) {
    const p = this.pods.get(workload);
    if (!p) throw new Error(`no pod for workload ${workload}`);
    return p;
  }

  private pilotAgent(workload: string, method: string, path: string): Promise<string> {
    const { pod, namespace } = this.pod(workload);
    return this.exec(kubectl('exec', '-n', namespace, pod, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', method, path));
  }

  /** Real Istio may still be settling after the config gate: the runner retries expected successes. */
  readonly retry = { attempts: 3, delayMs: 1000 };

  async probe(workload: string, given: ProbeSpec): Promise<ProbeResult> {
    const { pod, namespace } = this.pod(workload);
    const spec = this.ca ? withCaFile(given, LAB_CA_IN_POD) : given;
    const started = Date.now();
    const c = probeCommand(spec, pod, namespace);
    const r = await execa(this.tools.get(c.program) ?? c.program, c.args, { reject: false });
    return parseProbeOutput(spec, r.stdout, Date.now() - started);
  }

  /** The pod netns seen from the node container: crictl gives the sandbox pid, nsenter enters its netns. */
  private async inPodNetns(workload: string, cmd: string): Promise<string> {
    const { pod, namespace } = this.pod(workload);
    const node = this.docker.getContainer(`${CLUSTER_NAME}-control-plane`);
    const script = `sb=$(crictl pods --name '^${pod}$' --namespace ${namespace} -q); crictl inspectp "$sb"`;
    const pid = parseInspectpPid(await dockerExec(node, script));
    return dockerExec(node, `nsenter -t ${pid} -n ${cmd}`);
  }

  async conntrack(workload: string): Promise<ConntrackEntry[]> {
    return parseConntrack(await this.inPodNetns(workload, 'conntrack -L'));
  }

  iptablesSave(workload: string): Promise<string> {
    return this.inPodNetns(workload, 'iptables-save');
  }

  async stats(workload: string): Promise<Map<string, number> | undefined> {
    if (!this.scenario.workloads.find((w) => w.name === workload)?.sidecar) return undefined;
    return parseStatsText(await this.pilotAgent(workload, 'GET', 'stats'));
  }

  async collectArtifacts(): Promise<void> {
    for (const w of this.scenario.workloads.filter((x) => x.sidecar)) {
      const dir = join(this.runDir, 'pods', w.name);
      mkdirSync(dir, { recursive: true });
      const dump = await this.pilotAgent(w.name, 'GET', 'config_dump');
      writeFileSync(join(dir, 'config_dump.json'), dump);
      for (const kind of ['listener', 'cluster', 'route', 'endpoint'] as const) writeFileSync(join(dir, `proxy-config-${kind}.txt`), proxyConfigView(kind, JSON.parse(dump)));
      const { pod, namespace } = this.pod(w.name);
      writeFileSync(join(dir, 'access.log'), await this.exec(kubectl('logs', '-n', namespace, pod, '-c', 'istio-proxy')));
      writeFileSync(join(dir, 'iptables-save.txt'), await this.iptablesSave(w.name));
      writeFileSync(join(dir, 'missing-config.txt'), missingConfig(JSON.parse(dump), expectedConfig(buildProxyConfig(this.scenario, this.installed, w))).join('\n'));
    }
  }

  keepInstructions(): string[] {
    return [...this.pods.values()].flatMap(({ pod, namespace }) => [
      `kubectl --context ${KUBE_CONTEXT} exec -n ${namespace} ${pod} -c app -- sh`,
      `kubectl --context ${KUBE_CONTEXT} exec -n ${namespace} ${pod} -c istio-proxy -- pilot-agent request GET stats`,
    ]).concat([`npm run lab -- down --backend kind   # deletes the egress-lab kind cluster`]);
  }

  private stopping?: Promise<void>;

  down(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  /** The cluster and Istio stay for the next scenario; this scenario's namespaces and containers go. */
  private async teardown(): Promise<void> {
    const k = this.tools.get('kubectl') ?? 'kubectl';
    const label = `${SCENARIO_LABEL}=${this.loaded.scenario.name}`;
    // Objects in shared namespaces (default, istio-system) first, then the namespaces the scenario made.
    await execa(k, ['--context', KUBE_CONTEXT, 'delete', LABELLED_KINDS, '-A', '-l', label, '--wait=false'], { reject: false });
    await execa(k, ['--context', KUBE_CONTEXT, 'delete', 'namespace', '-l', label, '--wait=false'], { reject: false });
    await Promise.all(this.containers.map((c) => c.stop().catch(() => undefined)));
  }
}

/** An external server as a container; Redis runs one server per port, as the seed's cluster did. */
export function serverContainer(kind: string, ports: number[], password?: string): GenericContainer {
  if (kind === 'redis') {
    const auth = password ? ` --requirepass '${password}'` : '';
    const script = ports.map((p) => `redis-server --port ${p} --protected-mode no --save '' --appendonly no${auth} --daemonize yes`).join(' && ');
    return new GenericContainer(REDIS_IMAGE).withCommand(['sh', '-c', `${script} && sleep infinity`]);
  }
  if (kind === 'mysql') {
    return new GenericContainer(MARIADB_IMAGE).withEnvironment({ ...MARIADB_ENV });
  }
  return new GenericContainer(HTTPBIN_IMAGE).withEnvironment({ PORT: String(ports[0] ?? 80) });
}

/** docker exec in the node container (privileged, root), output demultiplexed. */
async function dockerExec(container: Docker.Container, script: string): Promise<string> {
  const ex = await container.exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ Detach: false, Tty: false });
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (b: Buffer) => chunks.push(b));
  err.on('data', (b: Buffer) => errs.push(b));
  container.modem.demuxStream(stream, out, err);
  await new Promise((res, rej) => {
    stream.on('end', res);
    stream.on('error', rej);
  });
  const { ExitCode } = await ex.inspect();
  if (ExitCode !== 0) throw new Error(`docker exec ${script} failed (${ExitCode}): ${Buffer.concat(errs).toString()}`);
  return Buffer.concat(chunks).toString();
}

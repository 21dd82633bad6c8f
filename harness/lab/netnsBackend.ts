/**
 * The embedded backend: the scenario's topology as network namespaces on this host, real servers in
 * external-host namespaces, a probe agent per pod, and in each sidecar pod either the real sidecar
 * (Istio's istio-iptables, pilot-agent and upstream Envoy, configured by lab-istiod) or the
 * TypeScript model (see sidecars.ts). Every process lives in the run's cgroup.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import type { Backend, Progress, SidecarInfo } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Workload } from '../scenario/schema.ts';
import type { AddressMapping } from '../scenario/addressMapping.ts';
import { parseConntrack, type ConntrackEntry } from '../evidence/conntrack.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { AgentResponse } from '../probes/wire.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import { probeBudgetMs } from '../probes/registry.ts';
import { inNetns, runToEnd, type CommandRun } from '../proc/exec.ts';
import { proxyConfigView } from '../views/proxyConfig.ts';
import { PROXY_CONFIG_KINDS } from './configSource.ts';
import { createLab, destroyNamespaces, NETNS_ETC } from './netns.ts';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import { LAB_PREFIX, planLab, type LabPlan, type NamespacePlan } from './topology.ts';
import { startExternalServers, startPodServer, type LabServerContext } from './servers.ts';
import { createLabCa, type LabCa } from '../servers/certs.ts';
import { RunCgroup } from '../proc/cgroup.ts';
import type { PodSidecar, SidecarEngine, SidecarRuntime } from './sidecars.ts';
import { ModelSidecars } from './modelSidecar.ts';
import { EnvoySidecars, envoyFidelityNotes } from './envoySidecar.ts';
import { ReplaySidecars, replayFidelityNotes, type ReplayInput } from './replaySidecar.ts';
import { fidelityNotes as modelFidelityNotes } from '../model/fidelity.ts';
import { describeRealParts, realParts, type RealParts } from '../istio/parts.ts';
import { APP_UID, PROXY_UID } from '../core/uids.ts';
import type { SimulationCall } from '../istio/simulation.ts';
import type { PathMatch } from '../model/pathTrace.ts';

const REPO = resolve(import.meta.dirname, '../..');
/** The sidecar and probe agent run as other users: they need to reach the run directory. */
function assertSearchableByAll(dir: string): void {
  for (let p = dir; p !== dirname(p); p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) {
      throw new Error(
        `run directory ${dir}: ${p} is not searchable by other users (mode ${(statSync(p).mode & 0o777).toString(8)}); the sidecar runs as uid ${PROXY_UID} and must reach it. Use --run-dir elsewhere or chmod o+x ${p}`,
      );
    }
  }
}

/** Sockets and scratch datadirs live in /tmp under the run prefix; a killed server leaves them behind. */
function removeRunScratch(prefix: string): void {
  for (const f of readdirSync(tmpdir()).filter((n) => n.startsWith(`${prefix}-`)))
    rmSync(join(tmpdir(), f), { force: true, recursive: true });
}

export function newRunPrefix(): string {
  return `${LAB_PREFIX}${randomBytes(3).toString('hex')}`;
}

/** A probe agent: one JSON request per line on stdin, one response per line on stdout. */
class AgentChannel {
  private next = 1;
  private readonly waiting = new Map<number, (r: AgentResponse) => void>();

  constructor(readonly proc: LabProcess) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as AgentResponse;
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    // An interrupted run kills the agent: fail what is in flight instead of waiting for the timeout.
    proc.child.once('exit', (code, sig) => {
      for (const [id, answer] of this.waiting) answer({ id, error: `probe agent exited (${code ?? sig})` });
      this.waiting.clear();
    });
  }

  send(probe: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe agent ${this.proc.name} gave no answer in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        if ('error' in r) reject(new Error(`probe agent: ${r.error}`));
        else resolve(r.result);
      });
      this.proc.child.stdin!.write(`${JSON.stringify({ id, probe })}\n`);
    });
  }
}

interface Pod {
  workload: Workload;
  ns: NamespacePlan;
  dir: string;
  sidecar?: PodSidecar;
  agent?: AgentChannel;
}

export interface NetnsOptions {
  /** envoy: the real sidecar (needs `npm run setup`); model: the TypeScript model. */
  engine: SidecarEngine;
  /** With envoy: run this customer's config dump in Envoy instead of istiod's config (egress-lab replay). */
  replay?: ReplayInput;
}

export class NetnsBackend implements Backend {
  readonly name = 'netns';
  readonly plan: LabPlan;
  private readonly pods = new Map<string, Pod>();
  private servers: LabProcess[] = [];
  readonly upPhases: { serversReadyMs?: number; sidecarsReadyMs?: number; controlPlaneReadyMs?: number; configLandedMs?: number } = {};
  private ca?: LabCa;
  private cgroup?: RunCgroup;
  private runtime?: SidecarRuntime;
  readonly sidecar: SidecarInfo;
  private readonly parts?: RealParts;
  private setup?: Promise<void>;
  private aborting = false;
  private readonly replay?: ReplayInput;

  constructor(
    private readonly loaded: LoadedScenario,
    readonly runDir: string,
    readonly prefix: string = newRunPrefix(),
    opts: NetnsOptions = { engine: 'envoy' },
  ) {
    this.plan = planLab(loaded.scenario, prefix);
    if (opts.engine === 'envoy' && loaded.istio.era === 'legacy') {
      throw new Error(
        `${loaded.scenario.name} assumes Istio ${loaded.istio.text} (the seed era), which no real part can run: use the model engine`,
      );
    }
    // Fail before anything is created when the real parts are not installed.
    this.parts = opts.engine === 'envoy' ? realParts() : undefined;
    if (opts.replay) this.replay = opts.replay;
    this.sidecar = this.parts
      ? {
          engine: this.replay ? 'replay' : 'envoy',
          describe: this.replay
            ? `upstream Envoy ${this.parts.versions.envoy} running the replayed config dump ${this.replay.dumpFile}`
            : `real sidecar: ${describeRealParts(this.parts.versions)}`,
          statsListEveryName: true,
        }
      : {
          engine: 'model',
          describe: `the TypeScript sidecar model of Istio ${loaded.istio.text} (harness/model decides)`,
          statsListEveryName: false,
        };
  }

  private get scenario() {
    return this.loaded.scenario;
  }

  /**
   * Set-up, once; teardown waits for it to stop before it removes anything. The lab uses the
   * scenario's own addresses (they exist only inside its namespaces), so it maps none.
   */
  async up(progress: Progress): Promise<AddressMapping[]> {
    // An interrupt can come before set-up starts: then it never starts.
    if (this.stopping) throw new Error('lab set-up was interrupted before it started');
    this.setup ??= this.bringUp(progress);
    await this.setup;
    return [];
  }

  /** Between set-up steps: an interrupt stops set-up here rather than racing teardown. */
  private check(): void {
    if (this.aborting) throw new Error('lab set-up was interrupted');
  }

  private async bringUp(progress: Progress): Promise<void> {
    assertSearchableByAll(this.runDir);
    this.cgroup = RunCgroup.create(this.prefix);
    this.runtime = this.newRuntime(this.cgroup);
    progress.step(`lab ${this.prefix}: creating namespaces (processes in cgroup ${this.cgroup.path})`);
    await createLab(
      this.plan,
      (m) => progress.step(`  ${m}`),
      () => this.check(),
    );
    this.ca = await createLabCa(join(this.runDir, 'ca'));
    for (const ns of this.plan.namespaces) this.trustLabCa(ns.name, this.ca);
    this.check();
    let t = Date.now();
    await this.runtime.start(progress);
    this.upPhases.controlPlaneReadyMs = Date.now() - t;
    this.check();
    t = Date.now();
    await startExternalServers(this.scenario.externalServers, this.serverContext(progress), (p) => this.servers.push(p));
    this.upPhases.serversReadyMs = Date.now() - t;
    t = Date.now();
    for (const w of this.scenario.workloads) {
      this.check();
      await this.startPod(w, progress);
    }
    this.upPhases.sidecarsReadyMs = Date.now() - t;
    t = Date.now();
    this.check();
    await this.runtime.settle(progress);
    this.upPhases.configLandedMs = Date.now() - t;
  }

  private newRuntime(cgroup: RunCgroup): SidecarRuntime {
    if (!this.parts) return new ModelSidecars(this.loaded, cgroup, this.prefix);
    if (this.replay) return new ReplaySidecars(this.replay, this.parts, cgroup);
    return new EnvoySidecars({
      loaded: this.loaded,
      parts: this.parts,
      cgroup,
      ca: () => this.ca!,
      runDir: this.runDir,
      routerNetns: this.plan.router,
      controlPlaneAddress: this.plan.controlPlaneAddress,
    });
  }

  /** Where this run's sidecar differs from real Istio on a cluster. */
  fidelityNotes(): string[] {
    if (this.parts && this.replay) return replayFidelityNotes(this.replay, this.parts);
    return this.parts ? envoyFidelityNotes(this.loaded, this.parts) : modelFidelityNotes(this.loaded);
  }

  private serverContext(progress: Progress): LabServerContext {
    return {
      plan: this.plan,
      prefix: this.plan.prefix,
      dir: join(this.runDir, 'servers'),
      cacheDir: join(this.runDir, '..', '.cache'),
      ca: this.ca!,
      progress,
      cgroup: this.cgroup!,
    };
  }

  /**
   * The namespace's /etc/ssl (bind-mounted by ip netns exec) holds only the lab CA, so curl in a pod
   * trusts the lab's HTTPS servers and nothing else.
   */
  private trustLabCa(ns: string, ca: LabCa): void {
    const certs = join(NETNS_ETC, ns, 'ssl', 'certs');
    mkdirSync(certs, { recursive: true });
    copyFileSync(ca.certFile, join(certs, 'ca-certificates.crt'));
    if (existsSync('/etc/ssl/openssl.cnf')) copyFileSync('/etc/ssl/openssl.cnf', join(NETNS_ETC, ns, 'ssl', 'openssl.cnf'));
  }

  private async startPod(w: Workload, progress: Progress): Promise<void> {
    const ns = this.plan.namespaces.find((n) => n.role === 'pod' && n.owner === w.name)!;
    const dir = join(this.runDir, 'pods', w.name);
    mkdirSync(dir, { recursive: true });
    const pod: Pod = { workload: w, ns, dir };
    this.pods.set(w.name, pod);
    const server = await startPodServer(w, ns.name, this.serverContext(progress));
    if (server) this.servers.push(server);
    if (w.sidecar) pod.sidecar = await this.runtime!.startPod({ workload: w, netns: ns.name, dir, progress });
    const agent = await startInNetns({
      name: `probe agent of ${w.name}`,
      ns: ns.name,
      cgroup: this.cgroup!,
      uid: APP_UID,
      argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/probes/agent.ts')],
      logFile: join(dir, 'probe-agent.log'),
      ready: /"ready":true/,
      stdin: true,
    });
    pod.agent = new AgentChannel(agent);
  }

  private pod(name: string): Pod {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod "${name}" in this lab`);
    return pod;
  }

  /**
   * Runs argv in a pod's namespace as `uid` (the app's by default), inside the run's cgroup: how
   * the kind backend's own command lines (its probe scripts, pilot-agent request) are run for real
   * in the lab (test/lab/kindCommandsInLab.test.ts). A non-zero exit is a result, not an error.
   */
  runInPod(workload: string, argv: string[], uid: number = APP_UID): Promise<CommandRun> {
    const asUser = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
    return runToEnd(this.cgroup!.wrap(['ip', 'netns', 'exec', this.pod(workload).ns.name, ...asUser, ...argv]));
  }

  /** A pid inside the pod's network namespace (its probe agent), for `nsenter -t PID -n`. */
  podPid(workload: string): number {
    const pid = this.pod(workload).agent?.proc.child.pid;
    if (pid === undefined) throw new Error(`pod ${workload} has no running probe agent`);
    return pid;
  }

  /**
   * Runs `nsenter -t PID -n ...` inside the run's cgroup, as the kind backend does from its node:
   * only for a PID of this run (so the command lands in one of its pod namespaces, never the host's).
   */
  runNsenter(argv: string[]): Promise<CommandRun> {
    const pid = Number(argv[2]);
    if (argv[0] !== 'nsenter' || argv[1] !== '-t' || argv[3] !== '-n' || !this.cgroup!.pids().includes(pid)) {
      throw new Error(`runNsenter takes "nsenter -t <pid of this run> -n ...", not ${argv.join(' ')}`);
    }
    return runToEnd(this.cgroup!.wrap(argv));
  }

  probe(workload: string, spec: ProbeSpec): Promise<ProbeResult> {
    return this.pod(workload).agent!.send(spec, probeBudgetMs(spec) + 15_000);
  }

  async conntrack(workload: string): Promise<ConntrackEntry[]> {
    return parseConntrack(await inNetns(this.pod(workload).ns.name, 'conntrack', ['-L']));
  }

  iptablesSave(workload: string): Promise<string> {
    return inNetns(this.pod(workload).ns.name, 'iptables-save', []);
  }

  async simulatePath(workload: string, call: SimulationCall): Promise<PathMatch | undefined> {
    return this.pod(workload).sidecar?.simulate?.(call);
  }

  async stats(workload: string): Promise<Map<string, number> | undefined> {
    return this.pod(workload).sidecar?.stats();
  }

  async collectArtifacts(): Promise<void> {
    for (const pod of this.pods.values()) {
      writeFileSync(join(pod.dir, 'iptables-save.txt'), await this.iptablesSave(pod.workload.name));
      if (!pod.sidecar) continue;
      const dump = await pod.sidecar.configDump();
      writeFileSync(join(pod.dir, 'config_dump.json'), dump);
      writeFileSync(join(pod.dir, 'access.log'), await pod.sidecar.accessLog());
      // The istioctl proxy-config views, so a failure can be read without rerunning.
      for (const kind of PROXY_CONFIG_KINDS)
        writeFileSync(join(pod.dir, `proxy-config-${kind}.txt`), proxyConfigView(kind, JSON.parse(dump)));
    }
  }

  keepInstructions(): string[] {
    const lines: string[] = [];
    for (const pod of this.pods.values()) {
      lines.push(
        `ip netns exec ${pod.ns.name} setpriv --reuid=${APP_UID} --regid=${APP_UID} --clear-groups curl -sv telnet://<host>:<port>   # as the app in pod ${pod.workload.name}`,
      );
      if (pod.sidecar) lines.push(`ip netns exec ${pod.ns.name} curl -s localhost:15000/stats   # the sidecar's admin API`);
      lines.push(`ip netns exec ${pod.ns.name} conntrack -L`);
    }
    lines.push(`npm run lab -- down --prefix ${this.prefix}   # removes this lab only`);
    return lines;
  }

  private stopping?: Promise<void>;

  /** Idempotent: an interrupt and the runner's own clean-up may both call it. */
  down(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  /**
   * Stops set-up first (its next step throws; killing the cgroup's processes ends any readiness
   * wait at once), waits for it, then removes everything: the cgroup's processes (including any
   * set-up started meanwhile), the namespaces, their /etc/netns entries, the cgroup.
   */
  private async teardown(): Promise<void> {
    this.aborting = true;
    this.cgroup?.killAll();
    await this.setup?.catch(() => undefined);
    await this.cgroup?.destroy();
    await destroyNamespaces([...this.plan.namespaces.map((n) => n.name), this.plan.router]);
    removeRunScratch(this.prefix);
  }
}

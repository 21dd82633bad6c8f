/**
 * The embedded backend: the scenario's topology as network namespaces on this host, istio-init's
 * rules applied with iptables-restore, the sidecar model running as uid 1337 in each injected pod,
 * real servers in external-host namespaces, and a probe agent per pod.
 */
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Backend, Progress } from '../backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Workload } from '../scenario/schema.ts';
import { injectionConfig, renderRestore } from '../model/iptables.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseStatsText } from '../model/stats.ts';
import { parseConntrack, type ConntrackEntry } from '../evidence/conntrack.ts';
import type { AgentResponse, ProbeResult, ProbeSpec } from '../probes/types.ts';
import { inNetns } from './exec.ts';
import { adminRequest } from './adminClient.ts';
import { proxyConfigView } from '../views/proxyConfig.ts';
import { PROXY_CONFIG_KINDS } from '../views/configSource.ts';
import { createLab, destroyNamespaces } from './netns.ts';
import { startInNetns, stopProcess, type LabProcess } from './processes.ts';
import { LAB_PREFIX, planLab, type LabPlan, type NamespacePlan } from './topology.ts';
import { startExternalServers, startPodServer, type ServerContext } from './servers.ts';
import { createLabCa, type LabCa } from '../servers/certs.ts';
import { NETNS_ETC } from './netns.ts';
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const REPO = resolve(import.meta.dirname, '../..');
const PROXY_UID = 1337;
/** Probes run as an ordinary app user, so istio-iptables captures them. */
const APP_UID = 1000;

/** The sidecar and probe agent run as other users: they need to reach the run directory. */
function assertSearchableByAll(dir: string): void {
  for (let p = dir; p !== dirname(p); p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) {
      throw new Error(`run directory ${dir}: ${p} is not searchable by other users (mode ${(statSync(p).mode & 0o777).toString(8)}); the sidecar runs as uid ${PROXY_UID} and must reach it. Use --run-dir elsewhere or chmod o+x ${p}`);
    }
  }
}

/** MariaDB's Unix sockets live in /tmp under the run prefix; a killed server leaves them behind. */
function removeRunSockets(prefix: string): void {
  for (const f of readdirSync(tmpdir()).filter((n) => n.startsWith(`${prefix}-`))) rmSync(join(tmpdir(), f), { force: true });
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
  sidecar?: LabProcess;
  agent?: AgentChannel;
}

export class NetnsBackend implements Backend {
  readonly name = 'netns';
  readonly plan: LabPlan;
  private readonly pods = new Map<string, Pod>();
  private servers: LabProcess[] = [];
  readonly upPhases: { serversReadyMs?: number; sidecarsReadyMs?: number } = {};
  private ca?: LabCa;

  constructor(
    private readonly loaded: LoadedScenario,
    readonly runDir: string,
    readonly prefix: string = newRunPrefix(),
  ) {
    this.plan = planLab(loaded.scenario, prefix);
  }

  private get scenario() {
    return this.loaded.scenario;
  }

  async up(progress: Progress): Promise<void> {
    assertSearchableByAll(this.runDir);
    progress.step(`lab ${this.prefix}: creating namespaces`);
    await createLab(this.plan, (m) => progress.step(`  ${m}`));
    this.ca = await createLabCa(join(this.runDir, 'ca'));
    for (const ns of this.plan.namespaces) this.trustLabCa(ns.name, this.ca);
    let t = Date.now();
    await startExternalServers(this.scenario.externalServers, this.serverContext(progress), (p) => this.servers.push(p));
    this.upPhases.serversReadyMs = Date.now() - t;
    t = Date.now();
    for (const w of this.scenario.workloads) await this.startPod(w, progress);
    this.upPhases.sidecarsReadyMs = Date.now() - t;
  }

  private serverContext(progress: Progress): ServerContext {
    return { plan: this.plan, dir: join(this.runDir, 'servers'), cacheDir: join(this.runDir, '..', '.cache'), ca: this.ca!, progress };
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
    if (w.sidecar) {
      const restore = renderRestore(injectionConfig(w.annotations, this.loaded.istio.era, this.loaded.istio.minor));
      writeFileSync(join(dir, 'iptables-restore.txt'), restore);
      await inNetns(ns.name, 'iptables-restore', ['--noflush'], { input: restore });
      progress.step(`pod ${w.name}: istio-init rules applied (${restore.split('\n').filter((l) => l.startsWith('-')).length} rules)`);
      const proxy = buildProxyConfig(this.scenario, this.loaded.istio, w);
      const config = join(dir, 'sidecar-config.json');
      writeFileSync(config, JSON.stringify({ proxy, adminSocket: join(dir, 'admin.sock') }, null, 2));
      // The sidecar (uid 1337) creates its admin socket here; every parent directory must be searchable.
      chownSync(dir, PROXY_UID, PROXY_UID);
      pod.sidecar = await startInNetns({
        name: `sidecar of ${w.name}`,
        ns: ns.name,
        uid: PROXY_UID,
        argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/sidecar/main.ts'), config],
        logFile: join(dir, 'sidecar.log'),
        stdoutFile: join(dir, 'access.log'),
        readyLine: /^READY$/,
      });
      progress.step(`pod ${w.name}: sidecar up as uid ${PROXY_UID} (${proxy.listeners.length} listeners, ${proxy.clusters.length} clusters)`);
    }
    const agent = await startInNetns({
      name: `probe agent of ${w.name}`,
      ns: ns.name,
      uid: APP_UID,
      argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/probes/agent.ts')],
      logFile: join(dir, 'probe-agent.log'),
      readyLine: /"ready":true/,
      stdin: true,
    });
    pod.agent = new AgentChannel(agent);
  }

  private pod(name: string): Pod {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod "${name}" in this lab`);
    return pod;
  }

  probe(workload: string, spec: ProbeSpec): Promise<ProbeResult> {
    const budget = spec.kind === 'tcp' ? spec.connectTimeoutMs + spec.readTimeoutMs : spec.timeoutMs * 2;
    return this.pod(workload).agent!.send(spec, budget + 15_000);
  }

  async conntrack(workload: string): Promise<ConntrackEntry[]> {
    return parseConntrack(await inNetns(this.pod(workload).ns.name, 'conntrack', ['-L']));
  }

  iptablesSave(workload: string): Promise<string> {
    return inNetns(this.pod(workload).ns.name, 'iptables-save', []);
  }

  async stats(workload: string): Promise<Map<string, number> | undefined> {
    const pod = this.pod(workload);
    if (!pod.sidecar) return undefined;
    return parseStatsText(await this.admin(pod, 'GET', '/stats'));
  }

  /** The sidecar's admin API through its Unix socket: no need to enter the pod namespace. */
  private admin(pod: Pod, method: string, path: string): Promise<string> {
    return adminRequest(join(pod.dir, 'admin.sock'), method, path);
  }

  async collectArtifacts(): Promise<void> {
    for (const pod of this.pods.values()) {
      writeFileSync(join(pod.dir, 'iptables-save.txt'), await this.iptablesSave(pod.workload.name));
      if (!pod.sidecar) continue;
      const dump = await this.admin(pod, 'GET', '/config_dump');
      writeFileSync(join(pod.dir, 'config_dump.json'), dump);
      // The istioctl proxy-config views, so a failure can be read without rerunning.
      for (const kind of PROXY_CONFIG_KINDS) writeFileSync(join(pod.dir, `proxy-config-${kind}.txt`), proxyConfigView(kind, JSON.parse(dump)));
    }
  }

  keepInstructions(): string[] {
    const lines: string[] = [];
    for (const pod of this.pods.values()) {
      lines.push(`ip netns exec ${pod.ns.name} setpriv --reuid=${APP_UID} --regid=${APP_UID} --clear-groups nc <host> <port>   # as the app in pod ${pod.workload.name}`);
      if (pod.sidecar) lines.push(`ip netns exec ${pod.ns.name} curl -s localhost:15000/stats   # the sidecar's admin API`);
      lines.push(`ip netns exec ${pod.ns.name} conntrack -L`);
    }
    lines.push(`npm run lab -- down   # removes this lab (prefix ${this.prefix})`);
    return lines;
  }

  private stopping?: Promise<void>;

  /** Idempotent: an interrupt and the runner's own clean-up may both call it. */
  down(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    const procs = [...this.pods.values()].flatMap((p) => [p.agent?.proc, p.sidecar]).filter((p): p is LabProcess => !!p);
    await Promise.all([...procs, ...this.servers].map((p) => stopProcess(p)));
    await destroyNamespaces([...this.plan.namespaces.map((n) => n.name), this.plan.router]);
    removeRunSockets(this.prefix);
  }
}

/**
 * The TypeScript sidecar model as a lab sidecar: istio-init's rules from the TypeScript generator
 * (harness/model/iptables.ts), and harness/sidecar/main.ts as uid 1337 executing the listeners,
 * clusters and routes harness/model computes. The only engine for the seed era (Istio 1.4-1.6),
 * which no real part can run, and the second opinion `--sidecar both` checks against real Istio.
 */
import { chownSync, writeFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import type { LoadedScenario } from '../scenario/load.ts';
import { injectionConfig, renderRestore } from '../model/iptables.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { parseStatsText } from '../core/stats.ts';
import { inNetns } from '../proc/exec.ts';
import { adminRequest } from './adminClient.ts';
import { startInNetns } from '../proc/processes.ts';
import type { RunCgroup } from '../proc/cgroup.ts';
import type { PodSidecar, SidecarPodContext, SidecarRuntime } from './sidecars.ts';
import { PROXY_UID } from '../core/uids.ts';

const REPO = resolve(import.meta.dirname, '../..');

export class ModelSidecars implements SidecarRuntime {
  readonly engine = 'model' as const;
  readonly statsListEveryName = false;
  readonly describe: string;

  constructor(
    private readonly loaded: LoadedScenario,
    private readonly cgroup: RunCgroup,
    private readonly prefix: string,
  ) {
    this.describe = `the TypeScript sidecar model of Istio ${loaded.istio.text} (harness/model decides listeners, clusters, routes and stats)`;
  }

  async start(): Promise<void> {}

  async settle(): Promise<void> {}

  async startPod({ workload: w, netns, dir, progress }: SidecarPodContext): Promise<PodSidecar> {
    const { istio } = this.loaded;
    const restore = renderRestore(injectionConfig(w.annotations, istio.era, istio.minor));
    writeFileSync(join(dir, 'iptables-restore.txt'), restore);
    await inNetns(netns, 'iptables-restore', ['--noflush'], { input: restore });
    progress.step(
      `pod ${w.name}: istio-init rules applied by the TypeScript generator (${restore.split('\n').filter((l) => l.startsWith('-')).length} rules)`,
    );
    const proxy = buildProxyConfig(this.loaded.scenario, istio, w);
    const config = join(dir, 'sidecar-config.json');
    // A Unix socket path is limited to 107 bytes, so it lives in /tmp, named with the run prefix (teardown and lab down sweep it).
    const socket = join(tmpdir(), `${this.prefix}-${w.name}-admin.sock`);
    writeFileSync(config, JSON.stringify({ proxy, adminSocket: socket }, null, 2));
    // The sidecar (uid 1337) creates its admin socket here; every parent directory must be searchable.
    chownSync(dir, PROXY_UID, PROXY_UID);
    const accessLog = join(dir, 'access.log');
    await startInNetns({
      name: `sidecar model of ${w.name}`,
      ns: netns,
      cgroup: this.cgroup,
      uid: PROXY_UID,
      argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/sidecar/main.ts'), config],
      logFile: join(dir, 'sidecar.log'),
      stdoutFile: accessLog,
      ready: /^READY$/,
    });
    progress.step(
      `pod ${w.name}: sidecar model up as uid ${PROXY_UID} (${proxy.listeners.length} listeners, ${proxy.clusters.length} clusters)`,
    );
    return {
      // The model's admin API, through its Unix socket: no need to enter the pod namespace.
      stats: async () => parseStatsText(await adminRequest(socket, 'GET', '/stats')),
      configDump: () => adminRequest(socket, 'GET', '/config_dump'),
      accessLog: async () => (existsSync(accessLog) ? await readFile(accessLog, 'utf8') : ''),
    };
  }
}

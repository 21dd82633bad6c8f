/**
 * The replay engine: a customer's config dump run as it is by the lab's upstream Envoy, as uid
 * 1337 in the pod namespace behind Istio's istio-iptables rules, with no control plane and no
 * pilot-agent (harness/replay/bootstrapFromDump.ts made the dump a static bootstrap). Its path
 * for a connection is Istio's simulation over the same dump (lab-istiod explain).
 */
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from '../backend/backend.ts';
import { runIstioInit } from '../istio/istioInit.ts';
import { envoyAdmin, envoyEvidence } from '../istio/envoyAdmin.ts';
import { explainDump } from '../istio/explain.ts';
import type { RealParts } from '../istio/parts.ts';
import type { ReplayConfig } from '../replay/bootstrapFromDump.ts';
import { PROXY_UID } from '../core/uids.ts';
import type { RunCgroup } from '../proc/cgroup.ts';
import { startInNetns } from '../proc/processes.ts';
import type { PodSidecar, SidecarPodContext, SidecarRuntime } from './sidecars.ts';

export interface ReplayInput {
  config: ReplayConfig;
  /** The dump file as given, for Istio's simulation over it and for the output. */
  dumpFile: string;
  /** The mapping, one line per address, for the output. */
  mapping: string[];
}

/** Where a replay differs from the customer's pod. */
export function replayFidelityNotes(input: ReplayInput, parts: RealParts): string[] {
  const n = input.config.node;
  return [
    `the configuration is the customer's dump (${input.dumpFile}, ${n.istioVersion ? `Istio ${n.istioVersion}` : 'Istio version not in the dump'}), run by upstream Envoy ${parts.versions.envoy}: no istiod and no pilot-agent made it or change it`,
    "iptables: Istio's istio-iptables defaults for a pod without capture annotations (a dump does not say the pod's annotations)",
    ...input.config.notes,
    ...input.mapping.map((m) => `mapping: ${m}`),
  ];
}

export class ReplaySidecars implements SidecarRuntime {
  readonly engine = 'replay' as const;
  readonly statsListEveryName = true;
  readonly describe: string;
  private started: Array<{ name: string; netns: string }> = [];

  constructor(
    private readonly input: ReplayInput,
    private readonly parts: RealParts,
    private readonly cgroup: RunCgroup,
  ) {
    this.describe = `upstream Envoy ${parts.versions.envoy} running the replayed config dump ${input.dumpFile}`;
  }

  async start(): Promise<void> {}

  async startPod({ workload: w, netns, dir, progress }: SidecarPodContext): Promise<PodSidecar> {
    const restore = await runIstioInit(this.parts.pilotAgent, netns, w, dir);
    progress.step(
      `pod ${w.name}: istio-init rules applied by Istio's istio-iptables (${restore.split('\n').filter((l) => l.startsWith('-')).length} rules)`,
    );
    const bootstrap = join(dir, 'replay-bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify(this.input.config.bootstrap, null, 2));
    chownSync(bootstrap, PROXY_UID, PROXY_UID);
    const log = join(dir, 'istio-proxy.log');
    await startInNetns({
      name: `replayed Envoy of ${w.name}`,
      ns: netns,
      cgroup: this.cgroup,
      uid: PROXY_UID,
      argv: [this.parts.envoy, '-c', bootstrap, '--disable-hot-restart', '-l', 'warning', '--file-flush-interval-msec', '1000'],
      cwd: dir,
      logFile: log,
      ownOutput: { stdout: log, stderr: log },
      ready: async () => (await envoyAdmin(netns, '/ready').catch(() => '')).trim() === 'LIVE',
      readyTimeoutMs: 30_000,
    });
    progress.step(
      `pod ${w.name}: upstream Envoy up as uid 1337 with the replayed configuration (${this.input.config.listeners.length} listeners, ${this.input.config.clusters.length} clusters)`,
    );
    this.started.push({ name: w.name, netns });
    return {
      ...envoyEvidence(netns, log),
      simulate: async (call) => (await explainDump(this.parts.labIstiod, this.input.dumpFile, [call])).explanations[0]!.match,
    };
  }

  /** Envoy holds every listener of the replayed configuration (static, so they are there or the start failed). */
  async settle(progress: Progress): Promise<void> {
    for (const p of this.started) {
      const dump = JSON.parse(await envoyAdmin(p.netns, '/config_dump')) as { configs: Array<Record<string, unknown>> };
      const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump')) as
        { static_listeners?: Array<{ listener: { name: string } }> } | undefined;
      const held = new Set((listeners?.static_listeners ?? []).map((l) => l.listener.name));
      const missing = this.input.config.listeners.filter((l) => !held.has(l));
      if (missing.length > 0) throw new Error(`the replayed Envoy of ${p.name} does not hold listener(s) ${missing.join(', ')}`);
      progress.step(`pod ${p.name}: Envoy holds the replayed ${held.size} listeners`);
    }
  }
}

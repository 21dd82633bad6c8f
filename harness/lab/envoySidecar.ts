/**
 * The real sidecar in the netns lab: lab-istiod (istiod's config generation over the scenario's
 * objects) serving ADS from the router namespace, and per sidecar pod Istio's istio-iptables and
 * pilot-agent, which starts upstream Envoy. Stats, config_dump and the access log are Envoy's own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import type { Progress } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { controlPlaneInputs, type ControlPlaneInputs } from '../istio/controlPlaneInputs.ts';
import { ControlPlane, writeControlPlaneInputs } from '../istio/controlPlane.ts';
import { runIstioInit } from '../istio/istioInit.ts';
import { proxyMetadataEnv, startIstioProxy } from '../istio/istioProxy.ts';
import { envoyAdmin, envoyEvidence } from '../istio/envoyAdmin.ts';
import { describeRealParts, type RealParts } from '../istio/parts.ts';
import { expectedFromDump, waitForConfig } from '../evidence/configGate.ts';
import type { LabCa } from '../servers/certs.ts';
import type { RunCgroup } from '../proc/cgroup.ts';
import { istiodFlags, nonDefaultFlags } from '../istio/istiodFlags.ts';
import { labMeshConfig, meshDefaultConfig } from '../istio/meshConfig.ts';
import type { PodSidecar, SidecarPodContext, SidecarRuntime } from './sidecars.ts';

export interface EnvoySidecarsOptions {
  loaded: LoadedScenario;
  parts: RealParts;
  cgroup: RunCgroup;
  ca: () => LabCa;
  runDir: string;
  /** The router namespace and the address the control plane listens on there. */
  routerNetns: string;
  controlPlaneAddress: string;
}

/**
 * Where this engine differs from real Istio on a cluster. The first two are Istio's own switches,
 * set by lab-istiod itself (istio/cmd/lab-istiod/main.go upstreamEnvoySwitches).
 */
export function envoyFidelityNotes(loaded: LoadedScenario, parts: RealParts): string[] {
  const v = parts.versions;
  return [
    `the sidecar is real: ${describeRealParts(v)}`,
    ...(loaded.istio.text.startsWith(`${v.istioRelease.replace(/-dev$/, '')}`)
      ? []
      : [`the scenario says Istio ${loaded.istio.text}; this run's Istio is ${v.istioRelease} (${v.istioModule})`]),
    'PILOT_ENABLE_METADATA_EXCHANGE=false and PILOT_ENABLE_ALPN_FILTER=false: no istio.metadata_exchange or istio.alpn filters (upstream Envoy has neither); peer metadata is not exchanged',
    "no Prometheus provider in defaultProviders.metrics: no istio.stats filters, so istio_requests_total and friends are absent; Envoy's own cluster/listener/tcp/http stats are unaffected",
    ...scenarioFlagNotes(loaded.scenario.istiod.env, parts.labIstiod),
    ...labMeshConfig(loaded.scenario).notes,
    ...(loaded.scenario.workloads.some(
      (w) => w.sidecar && proxyMetadataEnv(meshDefaultConfig(loaded.scenario), w.annotations).ISTIO_META_DNS_CAPTURE === 'true',
    )
      ? [
          "ISTIO_META_DNS_CAPTURE reaches istio-iptables and pilot-agent, but the lab has no cluster DNS server yet: the pods' resolv.conf names no nameserver, so istio-iptables leaves DNS uncaptured (its log says so) and names resolve from the hosts file",
        ]
      : []),
    "workload certificates come from files issued by the lab CA (FILE_MOUNTED_CERTS) and xDS is plaintext (controlPlaneAuthPolicy: NONE), instead of istiod's CA over mTLS; the sidecars' own mTLS works as in Istio",
  ];
}

/**
 * "istiod flag set by the scenario: NAME=value (Istio's default: d)". Asked of lab-istiod only when
 * the scenario sets flags (a run without any starts no extra process, which an interrupt could
 * kill); when it cannot be asked, the flags are named without their defaults.
 */
function scenarioFlagNotes(env: Record<string, string>, labIstiod: string): string[] {
  if (Object.keys(env).length === 0) return [];
  let flags: string[];
  try {
    flags = nonDefaultFlags(env, istiodFlags(labIstiod));
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    flags = Object.entries(env).map(([k, v]) => `${k}=${v} (Istio's default unknown: ${why})`);
  }
  return flags.map((f) => `istiod flag set by the scenario: ${f}`);
}

export class EnvoySidecars implements SidecarRuntime {
  readonly engine = 'envoy' as const;
  readonly statsListEveryName = true;
  readonly describe: string;
  private controlPlane?: ControlPlane;
  private inputs?: ControlPlaneInputs;
  private pods = new Map<string, Pod>();
  private started: Array<{ name: string; proxyId: string; netns: string }> = [];

  constructor(private readonly o: EnvoySidecarsOptions) {
    this.describe = describeRealParts(o.parts.versions);
  }

  async start(progress: Progress): Promise<void> {
    this.inputs = controlPlaneInputs(this.o.loaded.scenario);
    for (const doc of parseAllDocuments(this.inputs.kubernetes)) {
      const obj = doc.toJS() as Pod;
      if (obj?.kind === 'Pod') this.pods.set(obj.metadata!.name!, obj);
    }
    const dir = writeControlPlaneInputs(join(this.o.runDir, 'control-plane'), this.inputs);
    this.controlPlane = await ControlPlane.start({
      labIstiod: this.o.parts.labIstiod,
      inputsDir: dir,
      netns: this.o.routerNetns,
      address: this.o.controlPlaneAddress,
      cgroup: this.o.cgroup,
      logFile: join(dir, 'lab-istiod.log'),
    });
    progress.step(
      `control plane: lab-istiod (Istio ${this.o.parts.versions.istioRelease}) serving ADS on ${this.o.controlPlaneAddress}:15010 in the router namespace`,
    );
  }

  async startPod({ workload: w, netns, dir, progress }: SidecarPodContext): Promise<PodSidecar> {
    const meshDefault = meshDefaultConfig(this.o.loaded.scenario);
    const restore = await runIstioInit(this.o.parts.pilotAgent, netns, w, dir, proxyMetadataEnv(meshDefault, w.annotations));
    progress.step(
      `pod ${w.name}: istio-init rules applied by Istio's istio-iptables (${restore.split('\n').filter((l) => l.startsWith('-')).length} rules)`,
    );
    const pod = this.pods.get(w.name);
    if (!pod) throw new Error(`the control plane has no Pod for workload ${w.name}`);
    await startIstioProxy({ workload: w, pod, netns, dir, parts: this.o.parts, ca: this.o.ca(), cgroup: this.o.cgroup, meshDefault });
    progress.step(`pod ${w.name}: pilot-agent and Envoy up as uid 1337, ready on 15021`);
    this.started.push({ name: w.name, proxyId: `${w.name}.${w.namespace}`, netns });
    const log = join(dir, 'istio-proxy.log');
    return {
      ...envoyEvidence(netns, log),
      simulate: async (call) => (await this.controlPlane!.simulate(`${w.namespace}/${w.name}`, [call]))[0]!,
    };
  }

  /**
   * "Config landed" on Envoy's own state, never a sleep: each Envoy is ready on 15021 (it got its
   * first config) and holds, active, every listener and cluster istiod generated for it.
   */
  async settle(progress: Progress): Promise<void> {
    for (const p of this.started) {
      const generated = await this.controlPlane!.generatedFor(p.proxyId);
      writeFileSync(join(this.o.runDir, 'control-plane', `generated-${p.name}.json`), JSON.stringify(generated, null, 2));
      const expected = expectedFromDump(generated);
      const fetch = async () => JSON.parse(await envoyAdmin(p.netns, '/config_dump')) as unknown;
      const r = await waitForConfig(fetch, expected, {
        timeoutMs: 30_000,
        intervalMs: 100,
        sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
        now: () => Date.now(),
      });
      if (!r.ok) throw new Error(`config never landed in ${p.name}'s Envoy: missing ${r.missing.join(', ')}`);
      progress.step(
        `pod ${p.name}: Envoy holds the ${expected.listeners.length} listeners and ${expected.clusters.length} clusters istiod generated (catch-all ${expected.catchAll})`,
      );
    }
  }
}

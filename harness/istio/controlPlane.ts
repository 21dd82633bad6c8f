/**
 * The lab's control plane: lab-istiod (istio/cmd/lab-istiod), i.e. istiod's discovery server and
 * config generators, serving ADS to the lab's sidecars from the router namespace (the lab's node),
 * plus its offline modes: `dump` (what istiod would send a pod, no Envoy needed) and `validate`
 * (Istio's validation of a scenario's Istio objects).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunCgroup } from '../proc/cgroup.ts';
import { inNetns, run } from '../proc/exec.ts';
import { startInNetns, stopProcess, type LabProcess } from '../proc/processes.ts';
import type { ControlPlaneInputs } from './controlPlaneInputs.ts';
import { parseSimulationResults, type SimulationCall } from './simulation.ts';
import type { PathMatch } from '../model/pathTrace.ts';

export const ADS_PORT = 15010;
/** istiod's debug endpoints, on the router's loopback only. */
const DEBUG_ADDRESS = '127.0.0.1:15014';

/** Writes kubernetes.yaml, istio.yaml, mesh.yaml and istiod-env.json, the files lab-istiod reads. */
export function writeControlPlaneInputs(dir: string, inputs: ControlPlaneInputs): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kubernetes.yaml'), inputs.kubernetes);
  writeFileSync(join(dir, 'istio.yaml'), inputs.istio);
  writeFileSync(join(dir, 'mesh.yaml'), inputs.mesh);
  writeFileSync(join(dir, 'istiod-env.json'), `${JSON.stringify(inputs.istiodEnv, null, 2)}\n`);
  return dir;
}

export class ControlPlane {
  private constructor(
    private readonly proc: LabProcess,
    private readonly netns: string,
  ) {}

  static async start(o: {
    labIstiod: string;
    inputsDir: string;
    netns: string;
    address: string;
    cgroup: RunCgroup;
    logFile: string;
  }): Promise<ControlPlane> {
    const proc = await startInNetns({
      name: 'lab-istiod (control plane)',
      ns: o.netns,
      cgroup: o.cgroup,
      argv: [o.labIstiod, 'serve', '--inputs', o.inputsDir, '--listen', `${o.address}:${ADS_PORT}`, '--debug-listen', DEBUG_ADDRESS],
      logFile: o.logFile,
      ready: /^READY /,
      readyTimeoutMs: 30_000,
    });
    return new ControlPlane(proc, o.netns);
  }

  /**
   * What istiod generated for a connected proxy (/debug/config_dump, pilot/pkg/xds/debug.go), in
   * Envoy's config_dump layout: the gate compares it with what Envoy holds.
   */
  async generatedFor(proxyId: string): Promise<unknown> {
    const out = await inNetns(this.netns, 'curl', [
      '-sS',
      '--fail-with-body',
      '--max-time',
      '5',
      `http://${DEBUG_ADDRESS}/debug/config_dump?proxyID=${encodeURIComponent(proxyId)}`,
    ]);
    return JSON.parse(out);
  }

  /** Istio's simulation of calls from a pod ("namespace/name") over the config istiod generates for it. */
  async simulate(pod: string, calls: SimulationCall[]): Promise<PathMatch[]> {
    const url = `http://${DEBUG_ADDRESS}/lab/simulate?pod=${encodeURIComponent(pod)}`;
    const out = await inNetns(this.netns, 'curl', [
      '-sS',
      '--fail-with-body',
      '--max-time',
      '10',
      '-X',
      'POST',
      '--data-binary',
      JSON.stringify(calls),
      url,
    ]);
    return parseSimulationResults(out, calls.length);
  }

  stop(): Promise<void> {
    return stopProcess(this.proc);
  }
}

/** lab-istiod dump: what istiod would send each pod ("namespace/name"), as Envoy config_dump JSON. */
export async function dumpGeneratedConfig(labIstiod: string, inputsDir: string, pods: string[]): Promise<Record<string, unknown>> {
  const out = await run(labIstiod, ['dump', '--inputs', inputsDir, ...pods.flatMap((p) => ['--pod', p])], { timeoutMs: 60_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

/** lab-istiod simulate: the same simulation offline, over a scenario's inputs (tests need no lab). */
export async function simulateOffline(labIstiod: string, inputsDir: string, pod: string, calls: SimulationCall[]): Promise<PathMatch[]> {
  const out = await run(labIstiod, ['simulate', '--inputs', inputsDir, '--pod', pod], { input: JSON.stringify(calls), timeoutMs: 60_000 });
  return parseSimulationResults(out, calls.length);
}

/** One input object as istiod's stores hold it (lab-istiod read). */
export interface ReadBack {
  from: 'istio config store' | 'kubernetes client';
  kind: string;
  namespace?: string;
  name: string;
  object?: Record<string, unknown>;
  error?: string;
}

/** lab-istiod read: every object of an inputs directory as istiod's config store or Kubernetes client holds it. */
export async function readBack(labIstiod: string, inputsDir: string): Promise<ReadBack[]> {
  const out = await run(labIstiod, ['read', '--inputs', inputsDir], { timeoutMs: 60_000 });
  return JSON.parse(out) as ReadBack[];
}

/** One object's verdict from Istio's validation. */
export interface IstioFinding {
  kind: string;
  namespace: string;
  name: string;
  errors: string[];
  warnings: string[];
}

/** lab-istiod validate: Istio's own validation (pkg/config/validation) over a YAML stream of Istio objects. */
export async function istioValidate(labIstiod: string, yaml: string): Promise<IstioFinding[]> {
  const out = await run(labIstiod, ['validate', '-'], { input: yaml, timeoutMs: 30_000 });
  return JSON.parse(out) as IstioFinding[];
}

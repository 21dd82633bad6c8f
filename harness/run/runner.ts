/**
 * Runs one scenario on a backend: bring it up, run each probe between two snapshots of the pod's
 * conntrack table and sidecar stats, judge the expectations, save the evidence, bring it down.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, SidecarInfo } from '../backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Probe } from '../scenario/schema.ts';
import type { ProbeResult } from '../probes/types.ts';
import { probeSpec, probeTarget } from '../probes/registry.ts';
import { legsOfProbe, newEntries, type ConntrackEntry, type ProbeLegs } from '../evidence/conntrack.ts';
import { diffStats } from '../model/stats.ts';
import { checkIptablesSave, checkProbe, type Check } from './assertions.ts';
import type { PathTrace } from '../model/pathTrace.ts';
import { tracePath } from '../model/tracePath.ts';
import { buildProxyConfig } from '../model/proxyConfig.ts';
import { injectionConfig, renderRestore } from '../model/iptables.ts';
import type { Reporter } from './report.ts';
import { fidelityNotes } from '../model/fidelity.ts';
import { runWithRetry } from './retry.ts';

export interface ProbeOutcome {
  probe: Probe;
  result?: ProbeResult;
  error?: string;
  checks: Check[];
  legs?: ProbeLegs;
  statsDiff?: Map<string, number>;
  /** The path the model predicts for this connection, drawn in the report next to the evidence. */
  trace?: PathTrace;
  traceError?: string;
  /** How many times the probe ran (only backends that allow retries run one more than once). */
  attempts?: number;
  /** The run was stopped (Ctrl-C, the run timeout) while this probe was in flight: no verdict. */
  interrupted?: boolean;
  ok: boolean;
}

export interface ScenarioOutcome {
  name: string;
  ok: boolean;
  /** The run was stopped (Ctrl-C, the run timeout) before the scenario finished. */
  interrupted?: boolean;
  runDir: string;
  probes: ProbeOutcome[];
  /** Checks on pod state after set-up (iptables-save). */
  podChecks: Check[];
  /** Where the run's sidecar differs from real Istio on a cluster (also printed at the start of the run). */
  fidelityNotes?: string[];
  /** Which sidecar produced the evidence: engine and versions. */
  sidecar?: SidecarInfo;
  error?: string;
  durationMs: number;
  /** Wall time of each phase: lab up (within it: servers ready, pods and sidecars ready), probes, teardown. */
  timings: { upMs: number; probesMs: number; downMs: number; serversReadyMs?: number; sidecarsReadyMs?: number; controlPlaneReadyMs?: number; configLandedMs?: number };
}

/**
 * The harness reads stats and config_dump over Envoy's admin API, which Envoy counts under
 * http.admin.* and listener.admin.*: those moves are the harness's own, not the probe's.
 */
function withoutHarnessRequests(diff: Map<string, number>): Map<string, number> {
  return new Map([...diff].filter(([name]) => !/^(http|listener)\.admin\./.test(name)));
}

function renderConntrack(entries: ConntrackEntry[]): string {
  return entries.map((e) => e.raw).join('\n') + '\n';
}

function renderStats(stats: Map<string, number> | undefined): string {
  return stats ? [...stats].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' : '(no sidecar)\n';
}

/**
 * Runs a probe, and again (evidence and all) while it fails, if the backend allows retries and the
 * probe is expected to succeed. An expected failure is never retried: that could hide a denial.
 */
async function runProbe(backend: Backend, loaded: LoadedScenario, probe: Probe, dir: string): Promise<ProbeOutcome> {
  const { result, attempts } = await runWithRetry(
    () => runProbeOnce(backend, loaded, probe, dir),
    (o) => o.ok || !!o.error,
    probe,
    { attempts: backend.retry?.attempts ?? 1, delayMs: backend.retry?.delayMs ?? 0, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  );
  return attempts > 1 ? { ...result, attempts } : result;
}

async function runProbeOnce(backend: Backend, loaded: LoadedScenario, probe: Probe, dir: string): Promise<ProbeOutcome> {
  const workload = loaded.scenario.workloads.find((w) => w.name === probe.from)!;
  mkdirSync(dir, { recursive: true });
  const ctBefore = await backend.conntrack(probe.from);
  const statsBefore = await backend.stats(probe.from);
  let result: ProbeResult;
  try {
    result = await backend.probe(probe.from, probeSpec(probe), probe);
  } catch (err) {
    return { probe, error: (err as Error).message, checks: [], ok: false };
  }
  const ctAfter = await backend.conntrack(probe.from);
  const statsAfter = await backend.stats(probe.from);
  const fresh = newEntries(ctBefore, ctAfter);
  const legs = legsOfProbe(fresh, workload.ip, result.localPort ?? -1);
  const statsDiff = statsBefore && statsAfter ? withoutHarnessRequests(diffStats(statsBefore, statsAfter)) : undefined;
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2));
  writeFileSync(join(dir, 'conntrack-before.txt'), renderConntrack(ctBefore));
  writeFileSync(join(dir, 'conntrack-after.txt'), renderConntrack(ctAfter));
  writeFileSync(join(dir, 'stats-before.txt'), renderStats(statsBefore));
  writeFileSync(join(dir, 'stats-after.txt'), renderStats(statsAfter));
  writeFileSync(join(dir, 'stats-diff.txt'), renderStats(statsDiff));
  const checks = checkProbe(probe.expect, result, legs, statsDiff, statsAfter, backend.sidecar?.statsListEveryName ?? false);
  return { probe, result, checks, legs, statsDiff, ...modelTrace(loaded, probe, result), ok: checks.every((c) => c.ok) };
}

/** When to remove a scenario's lab: always, only when it passed (keep failures to poke at), or never. */
export type CleanupMode = 'always' | 'on-success' | 'never';

/** The model's path for a probe, or why there is none (the report shows either). */
function modelTrace(loaded: LoadedScenario, probe: Probe, result: ProbeResult): { trace?: PathTrace; traceError?: string } {
  const workload = loaded.scenario.workloads.find((w) => w.name === probe.from)!;
  if (!result.address) return { traceError: 'the probe never resolved an address' };
  try {
    const config = buildProxyConfig(loaded.scenario, loaded.istio, workload);
    const restore = workload.sidecar ? renderRestore(injectionConfig(workload.annotations, loaded.istio.era, loaded.istio.minor)) : undefined;
    return { trace: tracePath({ config, restore, probe: probeTarget(probe), resolvedIp: result.address }) };
  } catch (err) {
    return { traceError: `the model could not trace this connection: ${(err as Error).message}` };
  }
}

export interface RunOptions {
  cleanup: CleanupMode;
  runDir: string;
  reporter: Reporter;
  /** Called with the backend as soon as it exists, so an interrupt can tear it down. */
  onBackend?: (b: Backend) => void;
  /** True once the run is being stopped (Ctrl-C, run timeout): then the lab always goes. */
  stopping?: () => boolean;
  /** Why the sidecar engine is not the one asked for (the seed era runs on the model), printed with the run. */
  engineNote?: string;
}

export async function runScenario(loaded: LoadedScenario, backend: Backend, opts: RunOptions): Promise<ScenarioOutcome> {
  const started = Date.now();
  const { scenario } = loaded;
  const { reporter, runDir } = opts;
  mkdirSync(runDir, { recursive: true });
  copyFileSync(loaded.file, join(runDir, 'scenario.yaml'));
  opts.onBackend?.(backend);
  const notes = [...(opts.engineNote ? [opts.engineNote] : []), ...(backend.fidelityNotes?.() ?? fidelityNotes(loaded))];
  reporter.scenarioStart(loaded, { name: backend.name, sidecar: backend.sidecar, fidelityNotes: notes }, runDir);
  const probes: ProbeOutcome[] = [];
  const podChecks: Check[] = [];
  let error: string | undefined;
  const mark = { up: 0, probes: 0, down: 0 };
  const since = (t: number) => Date.now() - t;
  try {
    let t = Date.now();
    await backend.up(reporter);
    mark.up = since(t);
    t = Date.now();
    for (const a of scenario.assertions) podChecks.push(...checkIptablesSave(a, await backend.iptablesSave(a.workload)));
    if (podChecks.length > 0) reporter.podChecks(podChecks);
    for (const probe of scenario.probes) {
      const outcome = await runProbe(backend, loaded, probe, join(runDir, 'probes', probe.name)).catch((err: Error) => ({ probe, error: err.message, checks: [], ok: false }) as ProbeOutcome);
      // A stop tears the lab down under the probe: what it saw then is no verdict on the scenario.
      if (opts.stopping?.()) {
        const stopped: ProbeOutcome = { probe, checks: [], interrupted: true, ok: false };
        probes.push(stopped);
        reporter.probe(stopped);
        break;
      }
      probes.push(outcome);
      reporter.probe(outcome);
    }
    mark.probes = since(t);
    if (!opts.stopping?.()) await backend.collectArtifacts();
  } catch (err) {
    // Errors caused by the teardown of an interrupted run are not the scenario's.
    if (!opts.stopping?.()) {
      error = (err as Error).message;
      reporter.error(error);
    }
  }
  const interrupted = !!opts.stopping?.();
  const ok = !interrupted && !error && probes.length === scenario.probes.length && probes.every((p) => p.ok) && podChecks.every((c) => c.ok);
  const t = Date.now();
  const keep = !interrupted && (opts.cleanup === 'never' || (opts.cleanup === 'on-success' && !ok));
  if (keep) reporter.keep(backend.keepInstructions());
  else await backend.down();
  mark.down = since(t);
  const outcome: ScenarioOutcome = {
    name: scenario.name,
    ok,
    ...(interrupted ? { interrupted } : {}),
    runDir,
    probes,
    podChecks,
    fidelityNotes: notes,
    ...(backend.sidecar ? { sidecar: backend.sidecar } : {}),
    error,
    durationMs: Date.now() - started,
    timings: { upMs: mark.up, probesMs: mark.probes, downMs: mark.down, ...backend.upPhases },
  };
  writeFileSync(join(runDir, 'result.json'), JSON.stringify(outcome, (k, v) => (v instanceof Map ? Object.fromEntries(v) : k === 'probe' ? v.name : v), 2));
  reporter.scenarioEnd(outcome);
  return outcome;
}

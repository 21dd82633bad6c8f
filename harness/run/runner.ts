/**
 * Runs one scenario on a backend: bring it up, run each probe between two snapshots of the pod's
 * conntrack table and sidecar stats, judge the expectations, bring it down. It orchestrates only:
 * judging is assertions.ts, the path is the model's (harness/model/pathTrace.ts) or Istio's
 * simulation (the backend's), and the files are harness/report/evidenceFiles.ts's.
 */
import { join } from 'node:path';
import type { Backend } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { effectiveScenario, type AddressMapping } from '../scenario/addressMapping.ts';
import type { Probe } from '../scenario/schema.ts';
import type { ProbeResult } from '../probes/result.ts';
import { probeSpec, probeTarget } from '../probes/registry.ts';
import { legsOfProbe, newEntries } from '../evidence/conntrack.ts';
import { diffStats } from '../core/stats.ts';
import { tracePathFrom, type PathMatch, type PathTrace } from '../model/pathTrace.ts';
import { fidelityNotes } from '../model/fidelity.ts';
import { simulationCall } from '../istio/simulation.ts';
import { basisOf, checkIptablesSave, checkPath, checkProbe, type Check } from '../result/assertions.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';
import { runWithRetry } from './retry.ts';
import type { Reporter } from '../report/console.ts';
import { saveScenarioFile, writeProbeEvidence, writeScenarioOutcome } from '../report/evidenceFiles.ts';

export type { ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';

/**
 * The harness reads stats and config_dump over Envoy's admin API, which Envoy counts under
 * http.admin.* and listener.admin.*: those moves are the harness's own, not the probe's.
 */
function withoutHarnessRequests(diff: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...diff].filter(([name]) => !/^(http|listener)\.admin\./.test(name)));
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
  const conntrackBefore = await backend.conntrack(probe.from);
  const statsBefore = await backend.stats(probe.from);
  let result: ProbeResult;
  try {
    result = await backend.probe(probe.from, probeSpec(probe), probe);
  } catch (err) {
    return { probe, error: (err as Error).message, checks: [], ok: false };
  }
  const conntrackAfter = await backend.conntrack(probe.from);
  const statsAfter = await backend.stats(probe.from);
  const legs = legsOfProbe(newEntries(conntrackBefore, conntrackAfter), workload.ip, result.localPort ?? -1);
  const moved = statsBefore && statsAfter ? diffStats(statsBefore, statsAfter) : undefined;
  const statsDiff = moved ? withoutHarnessRequests(moved) : undefined;
  writeProbeEvidence(dir, { result, conntrackBefore, conntrackAfter, statsBefore, statsAfter, statsDiff });
  const paths = await probePaths(backend, loaded, probe, result);
  const checks = [
    ...checkProbe(
      probe.expect,
      result,
      legs,
      statsDiff ? new Map(Object.entries(statsDiff)) : undefined,
      statsAfter,
      backend.sidecar?.statsListEveryName ?? false,
    ),
    ...judgedPath(probe, paths, backend.sidecar?.engine, workload.sidecar),
  ];
  return { probe, result, checks, legs, ...(statsDiff ? { statsDiff } : {}), ...paths, ok: checks.every((c) => c.ok) };
}

type Paths = { trace?: PathTrace; traceError?: string; istioPath?: PathMatch };

/** The model's path for the connection (always, for the drawing) and, with real Istio, Istio's simulation of it. */
async function probePaths(backend: Backend, loaded: LoadedScenario, probe: Probe, result: ProbeResult): Promise<Paths> {
  if (!result.address) return { traceError: 'the probe never resolved an address' };
  const workload = loaded.scenario.workloads.find((w) => w.name === probe.from)!;
  const target = probeTarget(probe);
  let model: Paths;
  try {
    model = { trace: tracePathFrom(loaded.scenario, loaded.istio, workload, target, result.address) };
  } catch (err) {
    model = { traceError: `the model could not trace this connection: ${(err as Error).message}` };
  }
  const istioPath = backend.simulatePath ? await backend.simulatePath(probe.from, simulationCall(target, result.address)) : undefined;
  return { ...model, ...(istioPath ? { istioPath } : {}) };
}

/**
 * expect.model against the path of the engine that ran: Istio's simulation on real Istio, the
 * trace on the model. A cluster's sidecar (kind) has neither in the lab, so it is not judged there.
 */
function judgedPath(probe: Probe, paths: Paths, engine: string | undefined, sidecar: boolean): Check[] {
  const e = probe.expect.model;
  if (!e) return [];
  const basis = basisOf(probe.expect, 'model');
  // A pod without a sidecar has no Istio config to simulate: iptables alone (the model's trace) decides.
  if (engine === 'envoy' && sidecar) return checkPath(e, paths.istioPath, "Istio's simulation", basis);
  if (engine === 'model' || engine === 'envoy') return checkPath(e, paths.trace?.match, 'model trace', basis);
  return [];
}

/** When to remove a scenario's lab: always, only when it passed (keep failures to poke at), or never. */
export type CleanupMode = 'always' | 'on-success' | 'never';

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
  saveScenarioFile(runDir, loaded.file);
  opts.onBackend?.(backend);
  const notes = [...(opts.engineNote ? [opts.engineNote] : []), ...(backend.fidelityNotes?.() ?? fidelityNotes(loaded))];
  reporter.scenarioStart(loaded, { name: backend.name, sidecar: backend.sidecar, fidelityNotes: notes }, runDir);
  const probes: ProbeOutcome[] = [];
  const podChecks: Check[] = [];
  let error: string | undefined;
  const mark = { up: 0, probes: 0, down: 0 };
  const since = (t: number) => Date.now() - t;
  let mappings: AddressMapping[] = [];
  let effective = loaded;
  try {
    let t = Date.now();
    // The one effective scenario: the backend reports addresses, only the runner rewrites.
    mappings = await backend.up(reporter);
    effective = { ...loaded, scenario: effectiveScenario(scenario, mappings) };
    if (backend.deploy) {
      mappings = [...mappings, ...(await backend.deploy(effective.scenario, reporter))];
      effective = { ...loaded, scenario: effectiveScenario(scenario, mappings) };
    }
    if (mappings.length > 0) reporter.addresses?.(mappings);
    await backend.settle?.(effective.scenario, reporter);
    mark.up = since(t);
    t = Date.now();
    for (const a of effective.scenario.assertions) podChecks.push(...checkIptablesSave(a, await backend.iptablesSave(a.workload)));
    if (podChecks.length > 0) reporter.podChecks(podChecks);
    for (const probe of effective.scenario.probes) {
      const outcome = await runProbe(backend, effective, probe, join(runDir, 'probes', probe.name)).catch(
        (err: Error) => ({ probe, error: err.message, checks: [], ok: false }) as ProbeOutcome,
      );
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
    if (!opts.stopping?.()) await backend.collectArtifacts(effective.scenario);
  } catch (err) {
    // Errors caused by the teardown of an interrupted run are not the scenario's.
    if (!opts.stopping?.()) {
      error = (err as Error).message;
      reporter.error(error);
    }
  }
  const interrupted = !!opts.stopping?.();
  const ok =
    !interrupted && !error && probes.length === scenario.probes.length && probes.every((p) => p.ok) && podChecks.every((c) => c.ok);
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
    backend: backend.name,
    ...(mappings.length > 0 ? { addresses: mappings } : {}),
    probes,
    podChecks,
    fidelityNotes: notes,
    ...(backend.sidecar ? { sidecar: backend.sidecar } : {}),
    ...(error !== undefined ? { error } : {}),
    durationMs: Date.now() - started,
    timings: { upMs: mark.up, probesMs: mark.probes, downMs: mark.down, ...backend.upPhases },
  };
  writeScenarioOutcome(outcome);
  reporter.scenarioEnd(outcome);
  return outcome;
}

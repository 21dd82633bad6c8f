/**
 * Runs one scenario on a backend: bring it up, run each probe between two snapshots of the pod's
 * conntrack table and sidecar stats, judge the expectations, bring it down. It orchestrates only:
 * judging is assertions.ts, the path is the model's (harness/model/pathTrace.ts) or Istio's
 * simulation (the backend's), and the evidence goes to the EvidenceSink the caller gives it.
 */
import { mkdirSync } from 'node:fs';
import { siteOf, type Backend } from '../backend/backend.ts';
import { unmodelled } from '../model/unmodelled.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { effectiveScenario, type AddressMapping } from '../scenario/addressMapping.ts';
import type { Probe } from '../scenario/schema.ts';
import type { ProbeResult } from '../probes/result.ts';
import { probeSpec, probeTarget } from '../probes/registry.ts';
import { legsOfProbe, newEntries, redirectPort, type ProbeLegs } from '../evidence/conntrack.ts';
import { diffStats } from '../core/stats.ts';
import { tracePathFrom, type PathMatch, type PathTrace } from '../model/pathTrace.ts';
import { fidelityNotes } from '../model/fidelity.ts';
import { simulationCall, type SimulationCall } from '../istio/simulation.ts';
import { basisOf, checkIptablesSave, checkPath, checkProbe, type Check } from '../result/assertions.ts';
import type { EvidenceSink, ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';
import { runWithRetry } from './retry.ts';
import type { Reporter } from '../report/console.ts';

export type { ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';

/** When to remove a scenario's lab: always, only when it passed (keep failures to poke at), or never. */
export type CleanupMode = 'always' | 'on-success' | 'never';

export interface RunOptions {
  cleanup: CleanupMode;
  /** The backend writes its logs and artifacts here; the outcome names it. */
  runDir: string;
  reporter: Reporter;
  /** Where the evidence goes as the run goes (the suite: the run directory's files); without one only the outcome holds it. */
  evidence?: EvidenceSink;
  /** Why the run is being stopped (Ctrl-C, the run timeout), once it is: then the lab always goes. */
  stopped?: () => string | undefined;
  /** Why the sidecar engine is not the one asked for (the seed era runs on the model), printed with the run. */
  engineNote?: string;
}

/** One probe's run, with what it needs from the scenario run around it. */
interface ProbeRun {
  backend: Backend;
  loaded: LoadedScenario;
  probe: Probe;
  evidence?: EvidenceSink;
}

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
async function runProbe(run: ProbeRun): Promise<ProbeOutcome> {
  const { backend } = run;
  const { result, attempts } = await runWithRetry(
    () => runProbeOnce(run),
    (o) => o.ok || !!o.error,
    run.probe,
    { attempts: backend.retry?.attempts ?? 1, delayMs: backend.retry?.delayMs ?? 0, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  );
  return attempts > 1 ? { ...result, attempts } : result;
}

async function runProbeOnce(run: ProbeRun): Promise<ProbeOutcome> {
  const { backend, loaded, probe } = run;
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
  run.evidence?.probeEvidence(probe, { result, conntrackBefore, conntrackAfter, statsBefore, statsAfter, statsDiff });
  const paths = await probePaths(backend, loaded, probe, result, legs);
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

/** The model's path for the connection (for the drawing, when the model reads the whole scenario) and, with real Istio, Istio's simulation of it. */
async function probePaths(backend: Backend, loaded: LoadedScenario, probe: Probe, result: ProbeResult, legs: ProbeLegs): Promise<Paths> {
  if (!result.address) return { traceError: 'the probe never resolved an address' };
  const workload = loaded.scenario.workloads.find((w) => w.name === probe.from)!;
  const target = probeTarget(probe);
  let model: Paths;
  const missing = unmodelled(loaded);
  try {
    // A model trace of a scenario the model does not fully read would draw a path real Istio never took.
    model =
      missing.length > 0
        ? { traceError: `no model trace: the sidecar model does not model ${missing.join(', ')}` }
        : { trace: tracePathFrom(loaded.scenario, loaded.istio, workload, target, result.address) };
  } catch (err) {
    model = { traceError: `the model could not trace this connection: ${(err as Error).message}` };
  }
  const istioPath = backend.simulatePath
    ? await bypassedOrSimulated(backend, probe, simulationCall(target, result.address), legs)
    : undefined;
  return { ...model, ...(istioPath ? { istioPath } : {}) };
}

/**
 * Istio's simulation reads config, not iptables: a connection iptables never redirected
 * (excludeOutboundIPRanges, an includeOutboundIPRanges that leaves it out) reached no listener,
 * whatever the config would do with it. The pod's own conntrack says which: a client leg whose
 * reply comes from the destination, not from the sidecar's port, was not redirected, and its path
 * is empty.
 */
async function bypassedOrSimulated(backend: Backend, probe: Probe, call: SimulationCall, legs: ProbeLegs): Promise<PathMatch | undefined> {
  if (legs.client && redirectPort(legs.client) === undefined) return {};
  return backend.simulatePath?.(probe.from, call);
}

/**
 * expect.path against the path of the engine that ran: Istio's simulation on real Istio, the
 * trace on the model. A cluster's sidecar (kind) has neither in the lab, so it is not judged there.
 */
function judgedPath(probe: Probe, paths: Paths, engine: string | undefined, sidecar: boolean): Check[] {
  const e = probe.expect.path;
  if (!e) return [];
  const basis = basisOf(probe.expect, 'path');
  // A pod without a sidecar has no Istio config to simulate: iptables alone (the model's trace) decides.
  const real = engine === 'envoy' || engine === 'replay';
  if (real && sidecar) return checkPath(e, paths.istioPath, "Istio's simulation", basis);
  if (engine === 'model' || real) return checkPath(e, paths.trace?.match, 'model trace', basis);
  return [];
}

/** What the scenario's run saw while its lab was up. */
interface Observed {
  mappings: AddressMapping[];
  podChecks: Check[];
  probes: ProbeOutcome[];
  error?: string;
  upMs: number;
  probesMs: number;
}

/**
 * Up, deploy and settle: the effective scenario, made from the addresses the backend reports (only
 * the runner rewrites; a backend keeps no rewritten copy). The addresses go into `seen` as they
 * come, so a failed deploy still reports the servers' ones.
 */
async function bringUp(loaded: LoadedScenario, backend: Backend, reporter: Reporter, seen: Observed): Promise<LoadedScenario> {
  seen.mappings = await backend.up(reporter);
  let effective = { ...loaded, scenario: effectiveScenario(loaded.scenario, seen.mappings) };
  if (backend.deploy) {
    seen.mappings = [...seen.mappings, ...(await backend.deploy(effective.scenario, reporter))];
    effective = { ...loaded, scenario: effectiveScenario(loaded.scenario, seen.mappings) };
  }
  if (seen.mappings.length > 0) reporter.addresses?.(seen.mappings);
  await backend.settle?.(effective.scenario, reporter);
  return effective;
}

/** The probes in order; a stop ends them, and the probe in flight then has no verdict. */
async function runProbes(effective: LoadedScenario, backend: Backend, opts: RunOptions, probes: ProbeOutcome[]): Promise<void> {
  for (const probe of effective.scenario.probes) {
    const outcome = await runProbe({ backend, loaded: effective, probe, evidence: opts.evidence }).catch((err: Error): ProbeOutcome => ({
      probe,
      error: err.message,
      checks: [],
      ok: false,
    }));
    // A stop tears the lab down under the probe: what it saw then is no verdict on the scenario.
    const interrupted = opts.stopped?.();
    const judged: ProbeOutcome = interrupted ? { probe, checks: [], interrupted, ok: false } : outcome;
    probes.push(judged);
    opts.reporter.probe(judged);
    if (interrupted) break;
  }
}

/** Everything between up and down; an error ends it, and is the scenario's unless the run is being stopped. */
async function observe(loaded: LoadedScenario, backend: Backend, opts: RunOptions): Promise<Observed> {
  const seen: Observed = { mappings: [], podChecks: [], probes: [], upMs: 0, probesMs: 0 };
  const { reporter } = opts;
  try {
    let t = Date.now();
    const effective = await bringUp(loaded, backend, reporter, seen);
    seen.upMs = Date.now() - t;
    t = Date.now();
    for (const a of effective.scenario.assertions) seen.podChecks.push(...checkIptablesSave(a, await backend.iptablesSave(a.workload)));
    if (seen.podChecks.length > 0) reporter.podChecks(seen.podChecks);
    await runProbes(effective, backend, opts, seen.probes);
    seen.probesMs = Date.now() - t;
    if (!opts.stopped?.()) await backend.collectArtifacts(effective.scenario);
  } catch (err) {
    // Errors caused by the teardown of an interrupted run are not the scenario's.
    if (!opts.stopped?.()) {
      seen.error = (err as Error).message;
      reporter.error(seen.error);
    }
  }
  return seen;
}

export async function runScenario(loaded: LoadedScenario, backend: Backend, opts: RunOptions): Promise<ScenarioOutcome> {
  const started = Date.now();
  const { reporter, runDir } = opts;
  // The backend writes its logs here from up() on.
  mkdirSync(runDir, { recursive: true });
  opts.evidence?.scenarioStarted(loaded);
  const notes = [...(opts.engineNote ? [opts.engineNote] : []), ...(backend.fidelityNotes?.() ?? fidelityNotes(loaded))];
  reporter.scenarioStart(loaded, { name: backend.name, sidecar: backend.sidecar, fidelityNotes: notes }, runDir);
  const seen = await observe(loaded, backend, opts);
  const interrupted = opts.stopped?.();
  const ok =
    !interrupted &&
    !seen.error &&
    seen.probes.length === loaded.scenario.probes.length &&
    seen.probes.every((p) => p.ok) &&
    seen.podChecks.every((c) => c.ok);
  const t = Date.now();
  const keep = !interrupted && (opts.cleanup === 'never' || (opts.cleanup === 'on-success' && !ok));
  if (keep) reporter.keep(backend.keepInstructions());
  else await backend.down();
  const outcome: ScenarioOutcome = {
    name: loaded.scenario.name,
    ok,
    ...(interrupted ? { interrupted } : {}),
    runDir,
    backend: siteOf(backend),
    ...(seen.mappings.length > 0 ? { addresses: seen.mappings } : {}),
    probes: seen.probes,
    podChecks: seen.podChecks,
    fidelityNotes: notes,
    ...(backend.sidecar ? { sidecar: backend.sidecar } : {}),
    ...(seen.error !== undefined ? { error: seen.error } : {}),
    durationMs: Date.now() - started,
    timings: { upMs: seen.upMs, probesMs: seen.probesMs, downMs: Date.now() - t, ...backend.upPhases },
  };
  opts.evidence?.scenarioDone(outcome);
  reporter.scenarioEnd(outcome);
  return outcome;
}

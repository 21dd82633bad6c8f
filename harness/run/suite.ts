/**
 * A suite run: the selected scenarios (repeated for flake hunting if asked), each on its own lab,
 * up to `jobs` of them side by side (labs are isolated from each other: own prefix, namespaces,
 * cgroup), with the cleanup mode applied, a whole-run timeout, and the reports rewritten after
 * every scenario, in selection order, so that even a run killed half-way leaves a JUnit file.
 * Which backends a scenario runs on, and what that allows, is the backends table's (backends.ts).
 */
import type { ReplayInput } from '../lab/replaySidecar.ts';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { newRunPrefix } from '../lab/netnsBackend.ts';
import { runScenario, type CleanupMode, type ScenarioOutcome } from './runner.ts';
import type { Reporter } from '../report/console.ts';
import { ranRecord, skippedRecord, type ScenarioRun, type SuiteResult } from '../report/suiteResult.ts';
import { writeSuiteReports } from '../report/files.ts';
import { RunDirectoryEvidence } from '../report/evidenceFiles.ts';
import { compareOutcomes, renderComparison } from '../result/compare.ts';
import { renderHtmlReport } from '../report/html.ts';
import type { SidecarChoice } from './engines.ts';
import {
  backendNamed,
  backendsFor,
  DEFAULT_BACKEND,
  type BackendChoice,
  type BackendEntry,
  type BackendName,
  type PlannedRun,
} from './backends.ts';

export type { BackendChoice } from './backends.ts';

/** A reporter for one scenario; `flush` prints what it held back (an interrupted scenario). */
export type SuiteReporter = Reporter & { flush?(): void };

export interface SuiteOptions {
  scenarios: LoadedScenario[];
  /** Where scenarios run: one backend of the table, or "both": every backend, compared. Default netns. */
  backend?: BackendChoice;
  /** Backends that cannot run here at all (kind without a Docker engine), found once before the run: their runs are skipped, with why. */
  unavailable?: Partial<Record<BackendName, string>>;
  /** The netns lab's sidecar: real Istio (envoy, the default), the model, or both compared. */
  sidecar?: SidecarChoice;
  /** Receives each comparison: lab versus kind (backend "both"), envoy versus model (sidecar "both"). */
  onComparison?: (scenario: string, title: string, text: string) => void;
  selection: string[];
  cleanup: CleanupMode;
  /** How many times to run the selection; with untilFail, the most times to try. */
  repeat: number;
  /** Stop at the first failing attempt (flake hunting). */
  untilFail: boolean;
  /** Whole-run budget; when it runs out the scenarios in progress are torn down and the rest skipped. */
  timeoutMs?: number;
  /** Scenarios side by side, where every chosen backend allows it (kind shares one cluster and runs one at a time). Default 1. */
  jobs?: number;
  runDir: string;
  reportDir: string;
  /** One reporter for all scenarios (one job), or a new one per scenario, which keeps parallel output grouped. */
  reporter: SuiteReporter | (() => SuiteReporter);
  /** The netns lab runs this config dump in Envoy instead of istiod's config (egress-lab replay). */
  replay?: ReplayInput;
}

/** A run the suite started, to check after an interrupt that nothing of it is left. */
export interface StartedRun {
  prefix: string;
  backend: BackendEntry;
}

/** Set from outside (Ctrl-C) or by the run timeout: why the run stops early. */
export interface StopSignal {
  reason?: string;
  /** The backends up right now, so whoever stops the run can tear them down. */
  current?: Set<Backend>;
  /** Every run the suite started on a backend that leaves something on this host (leftBehind). */
  started?: StartedRun[];
}

/** 20261122-041500: sorts by time, safe in file names. */
function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function runDirFor(base: string, name: string, prefix: string): string {
  return resolve(base, `${stamp()}-${name}-${prefix}`);
}

/** A new suite report folder; the random part keeps runs started in the same second apart. */
export function reportDirFor(base: string): string {
  return join(resolve(base), `${stamp()}-suite-${randomBytes(3).toString('hex')}`);
}

/** Runs `work` over `items` with at most `jobs` at a time, in start order. */
async function pool<T>(items: T[], jobs: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

/** What one scenario's runs share within an attempt. */
interface ScenarioContext {
  l: LoadedScenario;
  attempt: number;
  opts: SuiteOptions;
  stop: StopSignal;
  reporter: SuiteReporter;
}

export async function runSuite(opts: SuiteOptions, stop: StopSignal): Promise<SuiteResult> {
  const started = new Date();
  stop.current ??= new Set();
  stop.started ??= [];
  const choice = opts.backend ?? DEFAULT_BACKEND;
  const backends = backendsFor(choice);
  const result: SuiteResult = {
    startedAt: started.toISOString(),
    finishedAt: '',
    durationMs: 0,
    backend: choice,
    runs: [],
    selection: opts.selection,
  };
  const timer = opts.timeoutMs
    ? setTimeout(() => void stopNow(stop, `run timeout after ${opts.timeoutMs! / 1000} s`), opts.timeoutMs)
    : undefined;
  const attempts = opts.untilFail ? Math.max(opts.repeat, 1) : opts.repeat;
  const jobs = backends.every((b) => b.parallel) ? (opts.jobs ?? 1) : 1;
  const reporterFor = typeof opts.reporter === 'function' ? opts.reporter : () => opts.reporter as SuiteReporter;
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // Each scenario's runs land in its own slot, so the reports keep selection order.
      const slots: ScenarioRun[][] = opts.scenarios.map(() => []);
      const publish = () => {
        result.runs = [...result.runs.filter((r) => r.attempt < attempt), ...slots.flat()];
        save(result, started, opts.reportDir);
      };
      await pool(opts.scenarios, jobs, async (l, i) => {
        slots[i] = await runOnBackends(backends, { l, attempt, opts, stop, reporter: reporterFor() });
        publish();
      });
      publish();
      if (opts.untilFail && result.runs.some((r) => r.status !== 'passed' && r.status !== 'skipped')) break;
    }
  } finally {
    clearTimeout(timer);
    if (stop.reason) result.interrupted = stop.reason;
    save(result, started, opts.reportDir);
  }
  return result;
}

/** A scenario on each backend in turn; with more than one, the first backend's run is compared with each other's. */
async function runOnBackends(backends: BackendEntry[], ctx: ScenarioContext): Promise<ScenarioRun[]> {
  const runs: ScenarioRun[] = [];
  const sides: Array<{ backend: BackendEntry; outcome?: ScenarioOutcome }> = [];
  for (const backend of backends) {
    const mine = await runOnBackend(backend, ctx);
    runs.push(...mine);
    sides.push({ backend, outcome: mine[0]?.outcome });
  }
  const [first, ...others] = sides;
  for (const other of others) {
    if (!first?.outcome || !other.outcome) continue;
    const title = bothTitle(first.outcome, other.outcome, [first.backend.label, other.backend.label]);
    ctx.opts.onComparison?.(ctx.l.scenario.name, title, renderComparison(compareOutcomes(first.outcome, other.outcome)));
  }
  return runs;
}

/** Which Istio and Envoy produced each side, so a difference can be told from a version skew. */
export function bothTitle(
  first: ScenarioOutcome,
  other: ScenarioOutcome,
  labels: readonly [string, string] = [backendNamed('netns').label, backendNamed('kind').label],
): string {
  const side = (o: ScenarioOutcome) => o.sidecar?.describe ?? o.backend;
  return `${labels[0]} versus ${labels[1]} — ${labels[0]}: ${side(first)}; ${labels[1]}: ${side(other)}`;
}

/**
 * The scenario's runs on one backend (the lab: one per sidecar engine, compared when there are
 * two); a run that cannot happen is a skipped record, with why.
 */
async function runOnBackend(backend: BackendEntry, ctx: ScenarioContext): Promise<ScenarioRun[]> {
  const { l, attempt, opts, stop } = ctx;
  const planned = backend.runsOf(l, opts.sidecar ?? 'envoy');
  const runs: ScenarioRun[] = [];
  for (const p of planned) {
    const why = opts.unavailable?.[backend.name] ?? p.skip ?? (stop.reason ? `not started: ${stop.reason}` : undefined);
    runs.push(why ? skippedRecord(l, attempt, p.site, why) : await runOne(backend, p, ctx));
  }
  compareEngines(planned, runs, ctx);
  return runs;
}

/** Real Envoy and the model on one scenario (--sidecar both), probe by probe. */
function compareEngines(planned: PlannedRun[], runs: ScenarioRun[], ctx: ScenarioContext): void {
  const on = (engine: string) => runs[planned.findIndex((p) => p.engine === engine)]?.outcome;
  const [real, model] = [on('envoy'), on('model')];
  if (!real || !model) return;
  const text = renderComparison(compareOutcomes(model, real), { a: 'model', b: 'envoy' });
  ctx.opts.onComparison?.(ctx.l.scenario.name, 'real Envoy versus the model', text);
}

async function runOne(backend: BackendEntry, planned: PlannedRun, ctx: ScenarioContext): Promise<ScenarioRun> {
  const { l, attempt, opts, stop, reporter } = ctx;
  const prefix = newRunPrefix();
  const runDir = runDirFor(opts.runDir, `${l.scenario.name}${planned.dirSuffix}`, prefix);
  const running = planned.create({ loaded: l, runDir, prefix, progress: reporter, ...(opts.replay ? { replay: opts.replay } : {}) });
  if (backend.leftovers) stop.started!.push({ prefix, backend });
  const startedAt = new Date();
  stop.current!.add(running);
  const outcome = await runScenario(l, running, {
    cleanup: opts.cleanup,
    runDir,
    reporter,
    evidence: new RunDirectoryEvidence(runDir),
    stopped: () => stop.reason,
    ...(planned.note ? { engineNote: planned.note } : {}),
  });
  stop.current!.delete(running);
  const record = ranRecord(l, attempt, outcome, startedAt);
  if (record.status === 'interrupted') reporter.flush?.();
  return record;
}

/** Stops the run: remembers why and tears down every lab that is up (their scenarios then fail fast). */
export async function stopNow(stop: StopSignal, reason: string): Promise<void> {
  stop.reason ??= reason;
  await Promise.all([...(stop.current ?? [])].map((b) => b.down()));
}

/** What the suite's runs still have on this host (namespaces, cgroups), checked after an interrupt. */
export async function leftBehind(stop: StopSignal): Promise<string[]> {
  const left = await Promise.all((stop.started ?? []).map((r) => r.backend.leftovers?.(r.prefix) ?? Promise.resolve([])));
  return left.flat();
}

function save(result: SuiteResult, started: Date, dir: string): void {
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started.getTime();
  writeSuiteReports(dir, result, { html: renderHtmlReport(result) });
}

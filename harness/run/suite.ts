/**
 * A suite run: the selected scenarios (repeated for flake hunting if asked), each on its own lab,
 * up to `jobs` of them side by side (labs are isolated from each other: own prefix, namespaces,
 * cgroup), with the cleanup mode applied, a whole-run timeout, and the reports rewritten after
 * every scenario, in selection order, so that even a run killed half-way leaves a JUnit file.
 */
import type { ReplayInput } from '../lab/replaySidecar.ts';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../lab/netnsBackend.ts';
import { runScenario, type CleanupMode, type ScenarioOutcome } from './runner.ts';
import type { Reporter } from '../report/console.ts';
import type { ScenarioRun, SuiteResult } from '../report/suiteResult.ts';
import { writeSuiteReports } from '../report/files.ts';
import { KindBackend, kindSkipReason } from '../kind/kindBackend.ts';
import { compareOutcomes, renderComparison } from '../result/compare.ts';
import { renderHtmlReport } from '../report/html.ts';
import { enginesFor, type SidecarChoice } from './engines.ts';
import type { SidecarEngine } from '../lab/sidecars.ts';

export type BackendChoice = 'netns' | 'kind' | 'both';

/** A reporter for one scenario; `flush` prints what it held back (an interrupted scenario). */
export type SuiteReporter = Reporter & { flush?(): void };

export interface SuiteOptions {
  scenarios: LoadedScenario[];
  /** Where scenarios run; "both" runs each on the lab and on kind and compares them. */
  backend?: BackendChoice;
  /** Why kind cannot run at all here (no Docker engine...), found once before the run. */
  kindUnavailable?: string;
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
  /** Scenarios side by side (netns only; kind shares one cluster and runs one at a time). Default 1. */
  jobs?: number;
  runDir: string;
  reportDir: string;
  /** One reporter for all scenarios (one job), or a new one per scenario, which keeps parallel output grouped. */
  reporter: SuiteReporter | (() => SuiteReporter);
  /** The netns lab runs this config dump in Envoy instead of istiod's config (egress-lab replay). */
  replay?: ReplayInput;
}

/** Set from outside (Ctrl-C) or by the run timeout: why the run stops early. */
export interface StopSignal {
  reason?: string;
  /** The backends up right now, so whoever stops the run can tear them down. */
  current?: Set<Backend>;
  /** The run prefix of every lab the suite started, to check afterwards that none is left. */
  prefixes?: string[];
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

function statusOf(o: ScenarioOutcome, stop: StopSignal): ScenarioRun['status'] {
  if (stop.reason) return 'interrupted';
  if (o.ok) return 'passed';
  return o.error && o.probes.length === 0 ? 'error' : 'failed';
}

function skipped(l: LoadedScenario, attempt: number, backend: string, reason: string): ScenarioRun {
  const s = l.scenario;
  return {
    scenario: s.name,
    description: s.description,
    tags: s.tags,
    istio: l.istio.text,
    backend,
    attempt,
    status: 'skipped',
    reason,
    startedAt: new Date().toISOString(),
    durationMs: 0,
  };
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

export async function runSuite(opts: SuiteOptions, stop: StopSignal): Promise<SuiteResult> {
  const started = new Date();
  stop.current ??= new Set();
  stop.prefixes ??= [];
  const result: SuiteResult = {
    startedAt: started.toISOString(),
    finishedAt: '',
    durationMs: 0,
    backend: opts.backend ?? 'netns',
    runs: [],
    selection: opts.selection,
  };
  const timer = opts.timeoutMs
    ? setTimeout(() => void stopNow(stop, `run timeout after ${opts.timeoutMs! / 1000} s`), opts.timeoutMs)
    : undefined;
  const attempts = opts.untilFail ? Math.max(opts.repeat, 1) : opts.repeat;
  const jobs = opts.backend === 'kind' || opts.backend === 'both' ? 1 : (opts.jobs ?? 1);
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
        slots[i] = stop.reason
          ? [skipped(l, attempt, 'netns', `not started: ${stop.reason}`)]
          : await runOnBackends(l, attempt, opts, stop, reporterFor());
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

/** Runs a scenario where the options say; kind runs that cannot happen are reported as skipped, with why. */
async function runOnBackends(
  l: LoadedScenario,
  attempt: number,
  opts: SuiteOptions,
  stop: StopSignal,
  reporter: SuiteReporter,
): Promise<ScenarioRun[]> {
  const choice = opts.backend ?? 'netns';
  const runs: ScenarioRun[] = [];
  if (choice !== 'kind') runs.push(...(await runOnEngines(l, attempt, opts, stop, reporter)));
  if (choice === 'netns') return runs;
  const why = opts.kindUnavailable ?? kindSkipReason(l);
  if (why || stop.reason) {
    runs.push(skipped(l, attempt, 'kind', why ?? `not started: ${stop.reason}`));
    return runs;
  }
  const kind = await runOne(l, attempt, opts, stop, reporter, 'kind');
  runs.push(kind);
  const lab = runs[0]?.outcome;
  if (choice === 'both' && lab && kind.outcome)
    opts.onComparison?.(l.scenario.name, bothTitle(lab, kind.outcome), renderComparison(compareOutcomes(lab, kind.outcome)));
  return runs;
}

/** Which Istio and Envoy produced each side, so a difference can be told from a version skew. */
export function bothTitle(lab: ScenarioOutcome, kind: ScenarioOutcome): string {
  const side = (o: ScenarioOutcome) => o.sidecar?.describe ?? o.backend;
  return `lab versus kind — lab: ${side(lab)}; kind: ${side(kind)}`;
}

/** The netns lab on each engine the choice implies; with two, they are compared probe by probe. */
async function runOnEngines(
  l: LoadedScenario,
  attempt: number,
  opts: SuiteOptions,
  stop: StopSignal,
  reporter: SuiteReporter,
): Promise<ScenarioRun[]> {
  const plan = enginesFor(l, opts.sidecar ?? 'envoy');
  const runs: ScenarioRun[] = [];
  for (const engine of plan.engines) {
    if (stop.reason) runs.push(skipped(l, attempt, `netns/${engine}`, `not started: ${stop.reason}`));
    else runs.push(await runOne(l, attempt, opts, stop, reporter, 'netns', engine, plan.note));
  }
  const [real, model] = runs.map((r) => r.outcome);
  if (plan.engines.length === 2 && real && model) {
    opts.onComparison?.(
      l.scenario.name,
      'real Envoy versus the model',
      renderComparison(compareOutcomes(model, real), { a: 'model', b: 'envoy' }),
    );
  }
  return runs;
}

async function runOne(
  l: LoadedScenario,
  attempt: number,
  opts: SuiteOptions,
  stop: StopSignal,
  reporter: SuiteReporter,
  where: 'netns' | 'kind',
  engine: SidecarEngine = 'envoy',
  engineNote?: string,
): Promise<ScenarioRun> {
  const s = l.scenario;
  const prefix = newRunPrefix();
  const runDir = runDirFor(opts.runDir, `${s.name}${where === 'kind' ? '-kind' : engine === 'model' ? '-model' : ''}`, prefix);
  const backend: Backend =
    where === 'kind'
      ? new KindBackend(l, runDir, (line) => reporter.step(line))
      : new NetnsBackend(l, runDir, prefix, { engine, ...(opts.replay ? { replay: opts.replay } : {}) });
  if (where === 'netns') stop.prefixes!.push(prefix);
  const startedAt = new Date();
  stop.current!.add(backend);
  const outcome = await runScenario(l, backend, {
    cleanup: opts.cleanup,
    runDir,
    reporter,
    stopping: () => !!stop.reason,
    ...(engineNote ? { engineNote } : {}),
  });
  stop.current!.delete(backend);
  const status = statusOf(outcome, stop);
  if (status === 'interrupted') reporter.flush?.();
  return {
    scenario: s.name,
    description: s.description,
    tags: s.tags,
    istio: l.istio.text,
    backend: where === 'netns' ? `netns/${engine}` : backend.name,
    attempt,
    outcome,
    status,
    ...(status === 'interrupted' ? { reason: stop.reason } : outcome.error ? { reason: outcome.error } : {}),
    startedAt: startedAt.toISOString(),
    durationMs: outcome.durationMs,
  };
}

/** Stops the run: remembers why and tears down every lab that is up (their scenarios then fail fast). */
export async function stopNow(stop: StopSignal, reason: string): Promise<void> {
  stop.reason ??= reason;
  await Promise.all([...(stop.current ?? [])].map((b) => b.down()));
}

function save(result: SuiteResult, started: Date, dir: string): void {
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started.getTime();
  writeSuiteReports(dir, result, { html: renderHtmlReport(result) });
}

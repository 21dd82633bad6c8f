/**
 * A suite run: the selected scenarios one after another (repeated for flake hunting if asked), each
 * on its own lab, with the cleanup mode applied, a whole-run timeout, and the reports rewritten
 * after every scenario, so that even a run killed half-way leaves a JUnit file behind.
 */
import { join, resolve } from 'node:path';
import type { Backend } from '../backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../lab/netnsBackend.ts';
import { runScenario, type CleanupMode, type ScenarioOutcome } from './runner.ts';
import type { Reporter } from './report.ts';
import type { ScenarioRun, SuiteResult } from '../report/suiteResult.ts';
import { writeSuiteReports } from '../report/files.ts';
import { KindBackend, kindSkipReason } from '../kind/kindBackend.ts';
import { compareOutcomes, renderComparison } from './compare.ts';
import { renderHtmlReport } from '../report/html.ts';
import { enginesFor, type SidecarChoice } from './engines.ts';
import type { SidecarEngine } from '../lab/sidecars.ts';

export type BackendChoice = 'netns' | 'kind' | 'both';

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
  /** Whole-run budget; when it runs out the current scenario is torn down and the rest skipped. */
  timeoutMs?: number;
  runDir: string;
  reportDir: string;
  reporter: Reporter & { flush?(): void };
}

/** Set from outside (Ctrl-C) or by the run timeout: why the run stops early. */
export interface StopSignal {
  reason?: string;
  /** The backend that is up right now, so whoever stops the run can tear it down. */
  current?: Backend;
}

/** 20261122-041500: sorts by time, safe in file names. */
function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function runDirFor(base: string, name: string, prefix: string): string {
  return resolve(base, `${stamp()}-${name}-${prefix}`);
}

function statusOf(o: ScenarioOutcome, stop: StopSignal): ScenarioRun['status'] {
  if (stop.reason) return 'interrupted';
  if (o.ok) return 'passed';
  return o.error && o.probes.length === 0 ? 'error' : 'failed';
}

function skipped(l: LoadedScenario, attempt: number, backend: string, reason: string): ScenarioRun {
  const s = l.scenario;
  return { scenario: s.name, description: s.description, tags: s.tags, istio: l.istio.text, backend, attempt, status: 'skipped', reason, startedAt: new Date().toISOString(), durationMs: 0 };
}

export async function runSuite(opts: SuiteOptions, stop: StopSignal): Promise<SuiteResult> {
  const started = new Date();
  const result: SuiteResult = { startedAt: started.toISOString(), finishedAt: '', durationMs: 0, backend: 'netns', runs: [], selection: opts.selection };
  const timer = opts.timeoutMs ? setTimeout(() => void stopNow(stop, `run timeout after ${opts.timeoutMs! / 1000} s`), opts.timeoutMs) : undefined;
  const attempts = opts.untilFail ? Math.max(opts.repeat, 1) : opts.repeat;
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      for (const l of opts.scenarios) {
        if (stop.reason) {
          result.runs.push(skipped(l, attempt, 'netns', `not started: ${stop.reason}`));
          continue;
        }
        for (const run of await runOnBackends(l, attempt, opts, stop)) result.runs.push(run);
        save(result, started, opts.reportDir);
      }
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
async function runOnBackends(l: LoadedScenario, attempt: number, opts: SuiteOptions, stop: StopSignal): Promise<ScenarioRun[]> {
  const choice = opts.backend ?? 'netns';
  const runs: ScenarioRun[] = [];
  if (choice !== 'kind') runs.push(...(await runOnEngines(l, attempt, opts, stop)));
  if (choice === 'netns') return runs;
  const why = opts.kindUnavailable ?? kindSkipReason(l);
  if (why || stop.reason) {
    runs.push(skipped(l, attempt, 'kind', why ?? `not started: ${stop.reason}`));
    return runs;
  }
  const kind = await runOne(l, attempt, opts, stop, 'kind');
  runs.push(kind);
  const lab = runs[0]?.outcome;
  if (choice === 'both' && lab && kind.outcome) opts.onComparison?.(l.scenario.name, 'lab versus kind', renderComparison(compareOutcomes(lab, kind.outcome)));
  return runs;
}

/** The netns lab on each engine the choice implies; with two, they are compared probe by probe. */
async function runOnEngines(l: LoadedScenario, attempt: number, opts: SuiteOptions, stop: StopSignal): Promise<ScenarioRun[]> {
  const plan = enginesFor(l, opts.sidecar ?? 'envoy');
  const runs: ScenarioRun[] = [];
  for (const engine of plan.engines) {
    if (stop.reason) runs.push(skipped(l, attempt, `netns/${engine}`, `not started: ${stop.reason}`));
    else runs.push(await runOne(l, attempt, opts, stop, 'netns', engine, plan.note));
  }
  const [real, model] = runs.map((r) => r.outcome);
  if (plan.engines.length === 2 && real && model) {
    opts.onComparison?.(l.scenario.name, 'real Envoy versus the model', renderComparison(compareOutcomes(model, real), { a: 'model', b: 'envoy' }));
  }
  return runs;
}

async function runOne(
  l: LoadedScenario,
  attempt: number,
  opts: SuiteOptions,
  stop: StopSignal,
  where: 'netns' | 'kind',
  engine: SidecarEngine = 'envoy',
  engineNote?: string,
): Promise<ScenarioRun> {
  const s = l.scenario;
  const prefix = newRunPrefix();
  const runDir = runDirFor(opts.runDir, `${s.name}${where === 'kind' ? '-kind' : engine === 'model' ? '-model' : ''}`, prefix);
  const backend: Backend = where === 'kind' ? new KindBackend(l, runDir, (line) => opts.reporter.step(line)) : new NetnsBackend(l, runDir, prefix, { engine });
  const startedAt = new Date();
  stop.current = backend;
  const outcome = await runScenario(l, backend, { cleanup: opts.cleanup, runDir, reporter: opts.reporter, stopping: () => !!stop.reason, ...(engineNote ? { engineNote } : {}) });
  stop.current = undefined;
  const status = statusOf(outcome, stop);
  if (status === 'interrupted') opts.reporter.flush?.();
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

/** Stops the run: remembers why and tears down the lab that is up (the scenario then fails fast). */
export async function stopNow(stop: StopSignal, reason: string): Promise<void> {
  stop.reason ??= reason;
  await stop.current?.down();
}

function save(result: SuiteResult, started: Date, dir: string): void {
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started.getTime();
  writeSuiteReports(dir, result, { html: renderHtmlReport(result) });
}

export function reportDirFor(base: string): string {
  return join(resolve(base), `${stamp()}-suite`);
}

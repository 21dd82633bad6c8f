/**
 * What a suite run produced, as every report writer (JUnit, JSON, timings, HTML) reads it: one
 * ScenarioRun per scenario, backend and attempt, in run order, including the ones that never
 * started. A run that happened holds the runner's ScenarioOutcome, and its status, reason and
 * backend are read from it (ranRecord), so the record and the outcome never disagree.
 */
import type { Check } from '../result/assertions.ts';
import type { ScenarioOutcome } from '../result/outcome.ts';
import type { LoadedScenario } from '../scenario/load.ts';

export interface ScenarioRun {
  scenario: string;
  description: string;
  tags: string[];
  /** The Istio version the scenario assumes, as written ("1.4", "1.30"). */
  istio: string;
  /** Where this run ran: netns/envoy, netns/model or kind; the outcome's backend when there is one. */
  backend: string;
  /** 1 for the first run of the selection, 2 for the first repeat... */
  attempt: number;
  /** Absent when the scenario never started or the runner itself threw. */
  outcome?: ScenarioOutcome;
  /**
   * passed: every check held. failed: a check failed (or a probe errored). error: set-up failed
   * (outcome.error with no probes) or there is no outcome. interrupted: the outcome says the run was
   * stopped (Ctrl-C, the run timeout) while it ran. skipped: never started (the run was stopped
   * before it) or not runnable here; see reason.
   */
  status: 'passed' | 'failed' | 'error' | 'skipped' | 'interrupted';
  /** Why it was skipped, interrupted or errored (for a run that happened: outcome.interrupted or outcome.error). */
  reason?: string;
  /** ISO time the scenario started (for a skipped one: when it was skipped). */
  startedAt: string;
  durationMs: number;
}

export interface SuiteResult {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** What the suite was asked to run on (--backend): netns, kind, or both; each run says where it ran. */
  backend: string;
  runs: ScenarioRun[];
  /** Why the suite was stopped (Ctrl-C, run timeout) before its end; absent when it ran to the end. */
  interrupted?: string;
  /** What was asked for on the command line (names, paths, tags). */
  selection: string[];
}

export interface SuiteSummary {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  interrupted: number;
  /** Probes that ran, over every run. */
  probes: number;
  /** Checks judged: pod-state checks plus every probe's checks. */
  checks: number;
  failedChecks: number;
}

/** Every check of a scenario run: pod state first, then the probes' in order. */
export function checksOf(outcome: ScenarioOutcome | undefined): Check[] {
  return outcome ? [...outcome.podChecks, ...outcome.probes.flatMap((p) => p.checks)] : [];
}

/** Runs by status, and probe and check totals over all runs. */
export function summarize(r: SuiteResult): SuiteSummary {
  const count = (s: ScenarioRun['status']) => r.runs.filter((x) => x.status === s).length;
  const checks = r.runs.flatMap((x) => checksOf(x.outcome));
  return {
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    interrupted: count('interrupted'),
    probes: r.runs.reduce((n, x) => n + (x.outcome?.probes.length ?? 0), 0),
    checks: checks.length,
    failedChecks: checks.filter((c) => !c.ok).length,
  };
}

/** What a run that happened comes to: interrupted, passed, a set-up error (no probe ran) or failed. */
export function statusOf(o: ScenarioOutcome): ScenarioRun['status'] {
  if (o.interrupted) return 'interrupted';
  if (o.ok) return 'passed';
  return o.error && o.probes.length === 0 ? 'error' : 'failed';
}

/** The scenario's part of every record. */
function scenarioFields(l: LoadedScenario): Pick<ScenarioRun, 'scenario' | 'description' | 'tags' | 'istio'> {
  const s = l.scenario;
  return { scenario: s.name, description: s.description, tags: s.tags, istio: l.istio.text };
}

/** The record of a run that happened, read from its outcome. */
export function ranRecord(l: LoadedScenario, attempt: number, outcome: ScenarioOutcome, startedAt: Date): ScenarioRun {
  const reason = outcome.interrupted || outcome.error;
  return {
    ...scenarioFields(l),
    backend: outcome.backend,
    attempt,
    outcome,
    status: statusOf(outcome),
    ...(reason ? { reason } : {}),
    startedAt: startedAt.toISOString(),
    durationMs: outcome.durationMs,
  };
}

/** The record of a run that never started, on the backend it would have run on. */
export function skippedRecord(l: LoadedScenario, attempt: number, backend: string, reason: string): ScenarioRun {
  return { ...scenarioFields(l), backend, attempt, status: 'skipped', reason, startedAt: new Date().toISOString(), durationMs: 0 };
}

/**
 * What a suite run produced, as every report writer (JUnit, JSON, timings, HTML) reads it: one
 * ScenarioRun per scenario and attempt, in run order, including the ones that never started.
 */
import type { Check } from '../result/assertions.ts';
import type { ScenarioOutcome } from '../result/outcome.ts';

export interface ScenarioRun {
  scenario: string;
  description: string;
  tags: string[];
  /** The Istio version the scenario assumes, as written ("1.4", "1.30"). */
  istio: string;
  /** Where this run ran: netns/envoy, netns/model or kind. */
  backend: string;
  /** 1 for the first run of the selection, 2 for the first repeat... */
  attempt: number;
  /** Absent when the scenario never started or the runner itself threw. */
  outcome?: ScenarioOutcome;
  /**
   * passed: every check held. failed: a check failed (or a probe errored). error: set-up failed
   * (outcome.error with no probes) or there is no outcome. interrupted: Ctrl-C or the run timeout
   * hit while it ran. skipped: never started (interrupted before it) or not runnable; see reason.
   */
  status: 'passed' | 'failed' | 'error' | 'skipped' | 'interrupted';
  reason?: string;
  /** ISO time the scenario started (for a skipped one: when it was skipped). */
  startedAt: string;
  durationMs: number;
}

export interface SuiteResult {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The backend the suite was asked for: netns, kind, or both. */
  backend: string;
  runs: ScenarioRun[];
  /** Why the run stopped early (Ctrl-C, run timeout); absent when it ran to the end. */
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

/**
 * Writing a suite's reports into its report directory: junit.xml, result.json, timings.json and,
 * when given, report.html. The suite calls this after every scenario and once more at the end (also
 * when interrupted), so each file is replaced atomically: a reader, or a run killed half-way through
 * a write, sees the previous complete file or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { renderJunit } from './junit.ts';
import type { SuiteResult } from './suiteResult.ts';

/**
 * Writes `text` to `path` through a temporary file in the same directory (created if missing):
 * write, fsync, rename over the target, then fsync the directory. On failure the temporary file is
 * removed and the old file, if any, is left as it was.
 */
export function writeAtomic(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const data = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  // The rename is durable once the directory is; not every file system lets a directory be fsynced.
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}

/** JSON with Maps (ProbeOutcome.statsDiff) as plain objects. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown): unknown => (v instanceof Map ? Object.fromEntries(v) : v), 2) + '\n';
}

export interface RunTimings {
  scenario: string;
  attempt: number;
  status: string;
  labUpMs: number;
  /** Only when the runner measures it separately (today it is part of labUpMs). */
  serversReadyMs?: number;
  /** Only when the runner measures it separately (today it is part of labUpMs). */
  sidecarsReadyMs?: number;
  probesMs: number;
  teardownMs: number;
  totalMs: number;
}

export interface SuiteTimings {
  /** The phases measured, in order, with the names the output uses. */
  phases: Record<string, string>;
  runs: RunTimings[];
  totals: {
    runs: number;
    labUpMs: number;
    serversReadyMs?: number;
    sidecarsReadyMs?: number;
    probesMs: number;
    teardownMs: number;
    totalMs: number;
    wallMs: number;
  };
}

/** Per scenario run: lab up, (servers ready, sidecars ready,) probes, teardown; and the sums. */
export function suiteTimings(r: SuiteResult): SuiteTimings {
  const runs = r.runs.map((run): RunTimings => {
    const t = run.outcome?.timings;
    return {
      scenario: run.scenario,
      attempt: run.attempt,
      status: run.status,
      labUpMs: t?.upMs ?? 0,
      ...(typeof t?.serversReadyMs === 'number' ? { serversReadyMs: t.serversReadyMs } : {}),
      ...(typeof t?.sidecarsReadyMs === 'number' ? { sidecarsReadyMs: t.sidecarsReadyMs } : {}),
      probesMs: t?.probesMs ?? 0,
      teardownMs: t?.downMs ?? 0,
      totalMs: run.outcome?.durationMs ?? run.durationMs,
    };
  });
  const has = (k: 'serversReadyMs' | 'sidecarsReadyMs') => runs.some((x) => x[k] !== undefined);
  const add = (k: 'labUpMs' | 'serversReadyMs' | 'sidecarsReadyMs' | 'probesMs' | 'teardownMs' | 'totalMs') =>
    runs.reduce((n, x) => n + (x[k] ?? 0), 0);
  const phases: Record<string, string> = { labUpMs: 'lab up' };
  if (has('serversReadyMs')) phases.serversReadyMs = 'servers ready';
  if (has('sidecarsReadyMs')) phases.sidecarsReadyMs = 'sidecars ready';
  phases.probesMs = 'probes';
  phases.teardownMs = 'teardown';
  return {
    phases,
    runs,
    totals: {
      runs: runs.length,
      labUpMs: add('labUpMs'),
      ...(has('serversReadyMs') ? { serversReadyMs: add('serversReadyMs') } : {}),
      ...(has('sidecarsReadyMs') ? { sidecarsReadyMs: add('sidecarsReadyMs') } : {}),
      probesMs: add('probesMs'),
      teardownMs: add('teardownMs'),
      totalMs: add('totalMs'),
      wallMs: r.durationMs,
    },
  };
}

export interface ReportPaths {
  junit: string;
  result: string;
  timings: string;
  html?: string;
}

/**
 * Writes junit.xml, result.json, timings.json and (when `extra.html` is given) report.html into
 * `dir`, creating it; returns their paths. JUnit goes first: it is what CI reads. A file that fails
 * is reported (thrown) only after the others have been written.
 */
export function writeSuiteReports(dir: string, r: SuiteResult, extra: { html?: string } = {}): ReportPaths {
  mkdirSync(dir, { recursive: true });
  const paths: ReportPaths = { junit: join(dir, 'junit.xml'), result: join(dir, 'result.json'), timings: join(dir, 'timings.json') };
  if (extra.html !== undefined) paths.html = join(dir, 'report.html');
  // Each file on its own: one that cannot be rendered or written does not keep the others back.
  const errors: unknown[] = [];
  const attempt = (path: string, render: () => string) => {
    try {
      writeAtomic(path, render());
    } catch (err) {
      errors.push(err);
    }
  };
  attempt(paths.junit, () => renderJunit(r));
  attempt(paths.result, () => toJson(r));
  attempt(paths.timings, () => toJson(suiteTimings(r)));
  if (paths.html !== undefined) attempt(paths.html, () => extra.html!);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AggregateError(errors, `writing the reports in ${dir}: ${errors.map((e) => (e as Error).message).join('; ')}`);
  return paths;
}

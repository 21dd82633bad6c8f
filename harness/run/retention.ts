/**
 * How long run and report directories are kept. Every `scenario`/`scenarios` run first removes the
 * ones older than the retention (EGRESS_LAB_RETENTION, default 7d, "off" to keep all), and
 * `lab prune` removes them on request (the newest N kept, or those older than an age). A
 * directory whose lab is still up (kept with --keep) is never removed.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_RETENTION = '7d';

/** What the lab writes into a run dir: `<YYYYMMDD-HHMMSS>-<scenario>-<prefix>` and `<...>-suite-<id>`. */
const RUN_ENTRY = /^\d{8}-\d{6}-/;

export interface RunEntry {
  name: string;
  mtimeMs: number;
}

/** "7d", "12h", "30m", "90s" → milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`expected an age like 7d, 12h or 30m, got "${text}"`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export interface PruneRule {
  /** Keep this many of the newest entries. */
  keep?: number;
  /** Remove entries older than this. */
  olderThanMs?: number;
  now: number;
  /** Run prefixes whose lab is up: their directories stay. */
  live: string[];
}

/** Which entries a rule removes (pure). */
export function prunable(entries: RunEntry[], rule: PruneRule): string[] {
  const ours = entries.filter((e) => RUN_ENTRY.test(e.name) && !rule.live.some((p) => e.name.endsWith(`-${p}`)));
  const newestFirst = [...ours].sort((a, b) => b.mtimeMs - a.mtimeMs);
  return newestFirst
    .filter(
      (e, i) => (rule.keep !== undefined && i >= rule.keep) || (rule.olderThanMs !== undefined && e.mtimeMs < rule.now - rule.olderThanMs),
    )
    .map((e) => e.name);
}

/** Removes what the rule selects under `runDir`; returns the names removed. */
export function pruneRuns(runDir: string, rule: PruneRule): string[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  const entries = names.map((name) => ({ name, mtimeMs: statSync(join(runDir, name)).mtimeMs }));
  const doomed = prunable(entries, rule);
  for (const name of doomed) rmSync(join(runDir, name), { recursive: true, force: true });
  return doomed;
}

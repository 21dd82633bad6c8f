/** What the running commands print after a suite: the table of runs, --record's writes, replay's "seen". */
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify as stringifyYaml } from 'yaml';
import type { LoadedScenario } from '../scenario/load.ts';
import type { SuiteResult } from '../report/suiteResult.ts';
import { recordedExpect, recordIntoScenario } from '../import/record.ts';

/** One row per run: scenario (and attempt), backend, result, probes passed, time; then why each skipped run was. */
export function printTable(result: SuiteResult): void {
  const attempts = result.runs.some((x) => x.attempt > 1);
  const rows = result.runs.map((r) => {
    const probes = r.outcome?.probes ?? [];
    return [
      `${r.scenario}${attempts ? ` #${r.attempt}` : ''}`,
      r.backend,
      r.status.toUpperCase(),
      `${probes.filter((p) => p.ok).length}/${probes.length}`,
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ];
  });
  const header = ['scenario', 'backend', 'result', 'probes', 'time'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of result.runs.filter((x) => x.status === 'skipped' && x.reason))
    console.log(`  ${r.scenario} on ${r.backend} skipped: ${r.reason}`);
}

/** --record: each scenario file gets what its run saw as expectations; a run that never probed records nothing. */
export function recordRuns(loaded: LoadedScenario[], result: SuiteResult): void {
  const when = new Date().toISOString().slice(0, 10);
  for (const l of loaded) {
    const run = result.runs.find((r) => r.scenario === l.scenario.name && r.outcome && r.outcome.probes.some((p) => p.result));
    if (!run?.outcome) {
      console.log(`record: ${l.file}: no probe ran, nothing recorded`);
      continue;
    }
    const { text, recorded } = recordIntoScenario(readFileSync(l.file, 'utf8'), run.outcome, when);
    writeFileSync(l.file, text);
    console.log(
      `recorded what ${run.backend} saw into ${l.file} (${recorded.length} probe(s): ${recorded.join(', ')}); run it again to check it, and edit what should differ`,
    );
  }
}

/** replay: what each probe saw, in the terms of a scenario's expectations. */
export function printSeen(result: SuiteResult): void {
  const when = new Date().toISOString().slice(0, 10);
  for (const run of result.runs) {
    for (const p of run.outcome?.probes ?? []) {
      const seen = recordedExpect(p, run.outcome!.sidecar?.describe ?? run.backend, when, 'seen by egress-lab replay');
      console.log(
        `seen by ${p.probe.name}:\n${seen ? stringifyYaml(seen, { lineWidth: 0 }).replace(/^/gm, '  ') : `  nothing: ${p.error ?? 'it did not run'}\n`}`,
      );
    }
  }
}

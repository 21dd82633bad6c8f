/**
 * A scenario's run directory as the runner's EvidenceSink: the scenario file as run, per probe the
 * client's result and the conntrack and stats snapshots around it, and result.json, the
 * ScenarioOutcome, which reads back as one (readScenarioOutcome).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConntrackEntry } from '../evidence/conntrack.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Probe } from '../scenario/schema.ts';
import type { EvidenceSink, ProbeEvidence, ScenarioOutcome } from '../result/outcome.ts';

export const OUTCOME_FILE = 'result.json';

function conntrackText(entries: ConntrackEntry[]): string {
  return entries.map((e) => e.raw).join('\n') + '\n';
}

function statsText(stats: Iterable<[string, number]> | undefined): string {
  return stats ? [...stats].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' : '(no sidecar)\n';
}

/** probes/<name>/: result.json, conntrack-{before,after}.txt, stats-{before,after,diff}.txt. */
function writeProbeEvidence(dir: string, e: ProbeEvidence): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'result.json'), JSON.stringify(e.result, null, 2));
  writeFileSync(join(dir, 'conntrack-before.txt'), conntrackText(e.conntrackBefore));
  writeFileSync(join(dir, 'conntrack-after.txt'), conntrackText(e.conntrackAfter));
  writeFileSync(join(dir, 'stats-before.txt'), statsText(e.statsBefore));
  writeFileSync(join(dir, 'stats-after.txt'), statsText(e.statsAfter));
  writeFileSync(join(dir, 'stats-diff.txt'), statsText(e.statsDiff ? Object.entries(e.statsDiff) : undefined));
}

/** The evidence of one scenario run, as files in its run directory. */
export class RunDirectoryEvidence implements EvidenceSink {
  constructor(readonly runDir: string) {}

  /**
   * scenario.yaml: the scenario file as it was run, next to what it produced, with its manifest
   * files at the same relative paths, so the run directory reruns as it is.
   */
  scenarioStarted(loaded: LoadedScenario): void {
    mkdirSync(this.runDir, { recursive: true });
    copyFileSync(loaded.file, join(this.runDir, 'scenario.yaml'));
    for (const src of loaded.objectSources) {
      if (!src.document) continue;
      const to = join(this.runDir, src.document.path);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(src.file, to);
    }
  }

  probeEvidence(probe: Probe, evidence: ProbeEvidence): void {
    writeProbeEvidence(join(this.runDir, 'probes', probe.name), evidence);
  }

  scenarioDone(outcome: ScenarioOutcome): void {
    writeFileSync(join(this.runDir, OUTCOME_FILE), JSON.stringify(outcome, null, 2));
  }
}

/** A run directory's result.json, checked to be a ScenarioOutcome (a run of another version of the tool may differ). */
export function readScenarioOutcome(runDir: string): ScenarioOutcome {
  const file = join(runDir, OUTCOME_FILE);
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<ScenarioOutcome>;
  const missing = (['name', 'ok', 'runDir', 'backend', 'probes', 'podChecks', 'durationMs', 'timings'] as const).filter(
    (k) => data[k] === undefined,
  );
  if (missing.length > 0) throw new Error(`${file}: not a scenario outcome (no ${missing.join(', ')})`);
  if (!Array.isArray(data.probes) || data.probes.some((p) => typeof p?.probe?.name !== 'string' || !Array.isArray(p.checks))) {
    throw new Error(`${file}: expected probes with their probe definition and checks`);
  }
  return data as ScenarioOutcome;
}

/**
 * Scenario files as the commands take them: loaded all at once, so a bad file fails before
 * anything is created, and the catalog (scenarios/ plus any pattern that is a path to a file).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR, ScenarioError, type LoadedScenario } from '../scenario/load.ts';
import { selectScenarios } from '../run/select.ts';
import { callerPath, EXIT_USAGE } from '../core/cliArgs.ts';

/** Loads every scenario first, so a bad file fails (exit 2) before anything is created. */
export function loadAll(names: string[]): LoadedScenario[] {
  try {
    return names.map((n) => warnDeprecations(loadScenarioFile(n)));
  } catch (err) {
    console.error(err instanceof ScenarioError ? err.message : `egress-lab: ${(err as Error).message}`);
    process.exit(EXIT_USAGE);
  }
}

/** Old field names a file still uses are read, and said once per load, where to rename them. */
export function warnDeprecations(loaded: LoadedScenario): LoadedScenario {
  for (const d of loaded.deprecations) console.error(`egress-lab: deprecated: ${d}`);
  return loaded;
}

/** Every scenario in scenarios/, plus any pattern that is a path to a scenario file. */
function catalog(patterns: string[]): { loaded: LoadedScenario[]; patterns: string[] } {
  const files = patterns.filter((p) => p.endsWith('.yaml') && existsSync(callerPath(p)));
  const names = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'));
  return {
    loaded: loadAll([...names.map((f) => join(SCENARIO_DIR, f)), ...files]),
    patterns: patterns.filter((p) => !files.includes(p)).concat(files.map((f) => loadAll([f])[0]!.scenario.name)),
  };
}

/** The catalog's scenarios the patterns and tags select (run/select.ts); throws on a bad pattern. */
export function selectFromCatalog(patterns: string[], tags: string[]): LoadedScenario[] {
  const { loaded, patterns: pats } = catalog(patterns);
  const chosen = selectScenarios(
    loaded.map((l) => ({ name: l.scenario.name, tags: l.scenario.tags, l })),
    { patterns: pats, tags },
  );
  return chosen.map((c) => c.l);
}

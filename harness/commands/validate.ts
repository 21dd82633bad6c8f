/**
 * `egress-lab validate FILE...`: every file through the loader and Istio's own validation, nothing
 * created. Also istioValidation, which the running commands do first.
 */
import { Command } from 'commander';
import { loadScenarioFile, ScenarioError, type LoadedScenario } from '../scenario/load.ts';
import { realParts, realPartsMissing } from '../istio/parts.ts';
import { validateWithIstio } from '../istio/validation.ts';
import { EXIT_USAGE } from '../core/cliArgs.ts';
import { warnDeprecations } from './scenarioFiles.ts';
import { enginesFor } from '../run/engines.ts';

/**
 * Istio's own validation (lab-istiod validate, from the module the control plane is built from) of
 * the scenarios' Istio objects, before anything is created. Without the real parts it is skipped
 * with a note, unless the run needs them anyway.
 */
export async function istioValidation(loaded: LoadedScenario[], partsRequired: boolean): Promise<ScenarioError[]> {
  const missing = realPartsMissing();
  if (missing) {
    if (partsRequired) {
      console.error(`egress-lab: ${missing}, or run with --sidecar model`);
      process.exit(EXIT_USAGE);
    }
    console.log(`note: Istio's own validation of the Istio objects was skipped: ${missing}`);
    return [];
  }
  const verdict = await validateWithIstio(realParts().labIstiod, loaded);
  for (const w of verdict.warnings) console.log(`warning: ${w}`);
  return verdict.failed;
}

async function validateAction(files: string[]): Promise<void> {
  // Every file is checked, so that one run lists every problem.
  const loaded: LoadedScenario[] = [];
  let bad = 0;
  for (const f of files) {
    try {
      const l = warnDeprecations(loadScenarioFile(f));
      // A scenario no engine can run (the seed era, with what the model does not model) is invalid.
      const refused = enginesFor(l, 'envoy').refused;
      if (refused) throw new ScenarioError(l.file, [{ path: '', message: refused }]);
      loaded.push(l);
    } catch (err) {
      bad++;
      console.error(err instanceof ScenarioError ? err.message : `egress-lab validate: ${(err as Error).message}`);
    }
  }
  const rejected = new Map((await istioValidation(loaded, false)).map((e) => [e.file, e]));
  for (const l of loaded) {
    const e = rejected.get(l.file);
    if (e) console.error(e.message);
    else console.log(`ok ${l.file} (${l.scenario.name}, Istio ${l.istio.text}, ${l.scenario.probes.length} probes)`);
  }
  process.exit(bad + rejected.size > 0 ? EXIT_USAGE : 0);
}

export function validateCommand(): Command {
  return new Command('validate')
    .description('check scenario files without creating anything')
    .argument('<files...>')
    .action(validateAction);
}

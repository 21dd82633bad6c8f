/**
 * `egress-lab list [PATTERN...] [--tag t]`: what the catalog holds, with tags, what each
 * reproduces, its Istio era and the sidecar engine that runs it by default.
 */
import { Command } from 'commander';
import { selectFromCatalog } from './scenarioFiles.ts';
import { repeatable } from './options.ts';
import { enginesFor } from '../run/engines.ts';
import { outboundMode } from '../scenario/outboundPolicy.ts';
import type { LoadedScenario } from '../scenario/load.ts';

/** "real Istio" or "the model", as the default run (--sidecar envoy) would run it. */
function engineOf(l: LoadedScenario): string {
  const plan = enginesFor(l, 'envoy');
  if (plan.refused) return 'no engine: see validate';
  return plan.engines.includes('envoy') ? 'real Istio' : 'the model';
}

function listAction(patterns: string[], opts: { tag: string[] }): void {
  for (const l of selectFromCatalog(patterns, opts.tag)) {
    const s = l.scenario;
    const era = l.istio.era === 'legacy' ? 'seed era' : 'current';
    console.log(`${s.name}  (Istio ${l.istio.text}, ${era}, runs on ${engineOf(l)}; ${outboundMode(s)}; ${s.tags.join(', ')})`);
    console.log(`    ${s.description.trim().replace(/\s+/g, ' ')}\n`);
  }
}

export function listCommand(): Command {
  return new Command('list')
    .description('list scenarios with their tags and what they reproduce')
    .argument('[patterns...]')
    .option('--tag <tag>', 'only scenarios with this tag', repeatable, [] as string[])
    .action(listAction);
}

/** `egress-lab list [PATTERN...] [--tag t]`: what the catalog holds, with tags and what each reproduces. */
import { Command } from 'commander';
import { selectFromCatalog } from './scenarioFiles.ts';
import { repeatable } from './options.ts';

function listAction(patterns: string[], opts: { tag: string[] }): void {
  for (const l of selectFromCatalog(patterns, opts.tag)) {
    const s = l.scenario;
    console.log(`${s.name}  (Istio ${l.istio.text}, ${s.mesh.outboundTrafficPolicy}; ${s.tags.join(', ')})`);
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

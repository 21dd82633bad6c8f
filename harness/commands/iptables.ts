/** `egress-lab iptables [--istio V] -- FLAGS`: the restore text istio-iptables would apply for its own flags. */
import { Command } from 'commander';
import { parseIstioVersion } from '../scenario/istioVersion.ts';
import { parseIstioIptablesArgs } from '../model/iptablesFlags.ts';
import { legacyChainCase, renderRestore } from '../model/iptables.ts';
import { usageError } from '../core/cliArgs.ts';

function iptablesAction(flags: string[], opts: { istio: string }): void {
  const version = parseIstioVersion(opts.istio);
  if (typeof version === 'string') usageError('iptables', `--istio: ${version}`);
  try {
    // Like istio-iptables, read the inputs it takes only from the environment (owner groups, loopback CIDR).
    const cfg = parseIstioIptablesArgs(flags, version.era, process.env);
    if (version.era === 'legacy') cfg.legacyChainCase = legacyChainCase(version.minor);
    process.stdout.write(renderRestore(cfg));
  } catch (err) {
    usageError('iptables', (err as Error).message);
  }
}

export function iptablesCommand(): Command {
  return new Command('iptables')
    .description(
      "print the iptables-restore text istio-iptables would apply for its own flags, e.g. -- -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x \"\" -b '*' -d 15090,15021,15020",
    )
    .option('--istio <version>', 'Istio version whose rule shapes to use', '1.30')
    .argument('[flags...]', 'istio-iptables flags (after --)')
    .action(iptablesAction);
}

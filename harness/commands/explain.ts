/**
 * `egress-lab explain --config-dump FILE --to IP:PORT [--sni NAME] [--host H]`: offline, which
 * listener, filter chain, route and cluster a connection hits in a dump, and why. It imports
 * nothing of the lab, so it starts without the lab's modules (harness/cli.ts loads each command
 * only when it runs).
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { explainCall, explainDump } from '../istio/explain.ts';
import { realParts, realPartsMissing } from '../istio/parts.ts';
import { CommandError } from '../proc/exec.ts';
import { renderExplain } from '../report/explainText.ts';
import { callerPath, usageError } from '../core/cliArgs.ts';
import { repeatable } from './options.ts';
import type { SimulationCall } from '../istio/simulation.ts';

interface ExplainOptions {
  configDump: string;
  to: string[];
  sni?: string;
  host?: string;
  protocol?: 'tcp' | 'http';
  json: boolean;
}

async function explainAction(opts: ExplainOptions): Promise<void> {
  const fail = (msg: string) => usageError('explain', msg);
  if (!existsSync(opts.configDump)) fail(`--config-dump ${opts.configDump}: no such file`);
  const missing = realPartsMissing();
  if (missing) fail(`${missing} (explain runs Istio's simulation from lab-istiod)`);
  let calls: SimulationCall[] = [];
  try {
    calls = opts.to.map((to) => explainCall(to, opts));
  } catch (err) {
    fail((err as Error).message);
  }
  try {
    const parts = realParts();
    const result = await explainDump(parts.labIstiod, opts.configDump, calls);
    console.log(opts.json ? JSON.stringify(result, null, 2) : renderExplain(result, parts.versions.istioModule));
  } catch (err) {
    fail(err instanceof CommandError ? err.stderr.trim().replace(/^lab-istiod explain: /, '') : (err as Error).message);
  }
}

export function explainCommand(): Command {
  return new Command('explain')
    .description(
      "which listener, filter chain, route and cluster a connection hits in an Envoy config dump, and why (Istio's own simulation, offline)",
    )
    .requiredOption(
      '--config-dump <file>',
      "Envoy's /config_dump, istioctl proxy-config all -o json, or a run's pods/<pod>/config_dump.json",
      callerPath,
    )
    .requiredOption('--to <ip:port>', 'the destination the client dialled (repeatable)', repeatable)
    .option('--sni <name>', 'the connection is TLS with this SNI')
    .option('--host <host>', 'the connection is HTTP with this Host header')
    .addOption(new Option('--protocol <p>', 'what the client sends first (default: http with --host, else tcp)').choices(['tcp', 'http']))
    .option('--json', 'print the result as JSON', false)
    .action(explainAction);
}

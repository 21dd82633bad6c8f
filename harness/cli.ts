/**
 * egress-lab's command line:
 *   scenario NAME... [--keep]     run scenarios in the embedded lab, every step shown
 *   scenarios [PATTERN...]         the catalog or a selection, quiet on success, with reports
 *   list [PATTERN...]              what the catalog holds
 *   lab down | lab status          sweep or list what runs left behind
 *   validate FILE...               check scenario files without running anything
 *   proxy-config KIND TARGET       istioctl proxy-config views of a kept lab or a saved dump
 *   iptables [--istio V] -- FLAGS  print istio-iptables' restore text for its own flags
 *   explain --config-dump F --to IP:PORT   which listener, chain, route and cluster, and why
 *   import FILE... --pod NS/NAME --to H:P  a scenario from a customer's cluster (--record: run it, keep what it saw)
 *   replay --config-dump F --to IP:PORT    a customer's config dump run in the lab's Envoy, probed
 *
 * It only assembles: each command lives in harness/commands/ and is loaded when it runs, so a
 * quick command (explain, list, validate) starts without the lab's modules (about a second).
 */
import { Command, CommanderError } from 'commander';
import { EXIT_FAIL, EXIT_USAGE } from './core/cliArgs.ts';

/** Every command, in the order help lists them, each loaded only when needed. */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Command>]> = [
  ['scenario', async () => (await import('./commands/run.ts')).scenarioCommand()],
  ['scenarios', async () => (await import('./commands/run.ts')).scenariosCommand()],
  ['list', async () => (await import('./commands/list.ts')).listCommand()],
  ['lab', async () => (await import('./commands/lab.ts')).labCommand()],
  ['validate', async () => (await import('./commands/validate.ts')).validateCommand()],
  ['proxy-config', async () => (await import('./commands/proxyConfig.ts')).proxyConfigCommand()],
  ['import', async () => (await import('./commands/import.ts')).importCommand()],
  ['replay', async () => (await import('./commands/replay.ts')).replayCommand()],
  ['explain', async () => (await import('./commands/explain.ts')).explainCommand()],
  ['iptables', async () => (await import('./commands/iptables.ts')).iptablesCommand()],
];

/** The command the arguments name; every command when they name none (help, an unknown command), so commander can list them. */
function commandsFor(args: string[]): Promise<Command[]> {
  const named = COMMANDS.filter(([name]) => name === args[0]);
  return Promise.all((named.length > 0 ? named : COMMANDS).map(([, load]) => load()));
}

/** Commands made apart from the program get its settings, as .command() would give them: usage errors then exit 2 everywhere. */
function inheritSettings(cmd: Command, parent: Command): Command {
  cmd.copyInheritedSettings(parent);
  for (const sub of cmd.commands) inheritSettings(sub, cmd);
  return cmd;
}

/** Exit codes (README "Exit codes"): commander's usage errors 2 (help 0), a bad scenario file 2, anything else 1. */
async function exitOnError(err: Error): Promise<never> {
  // Commander has printed its message already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  const { ScenarioError } = await import('./scenario/load.ts');
  if (err instanceof ScenarioError) {
    console.error(err.message);
    process.exit(EXIT_USAGE);
  }
  console.error(`egress-lab: ${err.message}`);
  process.exit(EXIT_FAIL);
}

const program = new Command('egress-lab').description('Reproduce Istio egress incidents at the packet level');
// Usage errors (unknown option, missing argument, bad value) exit 2, not commander's 1.
program.exitOverride();
try {
  for (const cmd of await commandsFor(process.argv.slice(2))) program.addCommand(inheritSettings(cmd, program));
  await program.parseAsync();
} catch (err) {
  await exitOnError(err as Error);
}

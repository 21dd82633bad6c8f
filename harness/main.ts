/**
 * egress-lab's entry point. Signals are handled before the command line's modules load (they take
 * about a second): a Ctrl-C or SIGTERM that early still exits 130, and nothing exists yet to
 * remove. Once a run starts, its own handler replaces this one (harness/cli.ts stopOnSignals).
 */
function earlyInterrupt(sig: NodeJS.Signals): void {
  process.stderr.write(`\negress-lab: interrupted (${sig}) before anything was created\n`);
  process.exit(130);
}
process.on('SIGINT', earlyInterrupt);
process.on('SIGTERM', earlyInterrupt);

// explain is offline and quick: it starts without the lab's modules (about a second to load).
if (process.argv[2] === 'explain') {
  const { Command } = await import('commander');
  const { explainCommand } = await import('./commands/explain.ts');
  await new Command('egress-lab').addCommand(explainCommand()).parseAsync();
} else {
  await import('./cli.ts');
}

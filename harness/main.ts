/**
 * The command line, started by bin/egress-lab.js once its signal handling is in place.
 */
// explain is offline and quick: it starts without the lab's modules (about a second to load).
if (process.argv[2] === 'explain') {
  const { Command } = await import('commander');
  const { explainCommand } = await import('./commands/explain.ts');
  await new Command('egress-lab').addCommand(explainCommand()).parseAsync();
} else {
  await import('./cli.ts');
}

#!/usr/bin/env node
/**
 * egress-lab's entry point, in plain JavaScript so that its first lines run before anything heavy
 * loads: tsx and the harness take about a second on a busy machine, and a Ctrl-C or SIGTERM in that
 * second must still exit 130 (nothing exists yet to remove). Once a run starts, its own handler
 * replaces this one (harness/cli.ts stopOnSignals finds it by name).
 */
function earlyInterrupt(sig) {
  process.stderr.write(`\negress-lab: interrupted (${sig}) before anything was created\n`);
  process.exit(130);
}
process.on('SIGINT', earlyInterrupt);
process.on('SIGTERM', earlyInterrupt);

const { register } = await import('tsx/esm/api');
register();
await import('../harness/main.ts');

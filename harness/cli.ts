/**
 * egress-lab's command line:
 *   scenario NAME... [--keep]     run scenarios in the embedded lab
 *   lab down | lab status          sweep or list what runs left behind
 *   validate FILE...               check scenario files without running anything
 *   iptables [--istio V] -- FLAGS  print istio-iptables' restore text for its own flags
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { loadScenarioFile, ScenarioError, type LoadedScenario } from './scenario/load.ts';
import { parseIstioVersion } from './scenario/istioVersion.ts';
import { NetnsBackend, newRunPrefix } from './lab/netnsBackend.ts';
import { labNamespaces } from './lab/netns.ts';
import { sweep } from './lab/sweep.ts';
import { LAB_PREFIX } from './lab/topology.ts';
import { ConsoleReporter } from './run/report.ts';
import { runScenario } from './run/runner.ts';
import type { Backend } from './backend.ts';
import { parseIstioIptablesArgs } from './model/iptablesFlags.ts';
import { legacyChainCase, renderRestore } from './model/iptables.ts';
import { proxyConfigView, type ProxyConfigKind } from './views/proxyConfig.ts';
import { loadConfigDump, PROXY_CONFIG_KINDS, type ProxyConfigOptions } from './views/configSource.ts';

const EXIT_FAIL = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function runDirFor(base: string, name: string, prefix: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return resolve(base, `${stamp}-${name}-${prefix}`);
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    console.error('egress-lab: the netns lab needs root (network namespaces, iptables); run with sudo');
    process.exit(EXIT_USAGE);
  }
}

/** Loads every scenario first, so a bad file fails before anything is created. */
function loadAll(names: string[]): LoadedScenario[] {
  try {
    return names.map((n) => loadScenarioFile(n));
  } catch (err) {
    console.error(err instanceof ScenarioError ? err.message : `egress-lab: ${(err as Error).message}`);
    process.exit(EXIT_USAGE);
  }
}

/** Ctrl-C: tear the running lab down before exiting, and say so. */
function onInterrupt(getBackend: () => Backend | undefined, keep: boolean): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const backend = getBackend();
    console.error(`\negress-lab: interrupted (${sig}); ${backend && !keep ? 'removing the lab' : 'nothing to remove'}...`);
    const done = backend && !keep ? backend.down() : Promise.resolve();
    void done.finally(() => {
      console.error('egress-lab: interrupted run removed; no lab objects left behind');
      process.exit(EXIT_INTERRUPTED);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function scenarioCommand(names: string[], opts: { keep: boolean; runDir: string; backend: string }): Promise<void> {
  const loaded = loadAll(names);
  requireRoot();
  let current: Backend | undefined;
  onInterrupt(() => current, opts.keep);
  const reporter = new ConsoleReporter();
  let failed = 0;
  for (const l of loaded) {
    const prefix = newRunPrefix();
    const runDir = runDirFor(opts.runDir, l.scenario.name, prefix);
    const backend = new NetnsBackend(l, runDir, prefix);
    const outcome = await runScenario(l, backend, { keep: opts.keep, runDir, reporter, onBackend: (b) => (current = b) });
    current = undefined;
    if (!outcome.ok) failed++;
  }
  if (loaded.length > 1) console.log(`${loaded.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? EXIT_FAIL : 0);
}

const program = new Command('egress-lab').description('Reproduce Istio egress incidents at the packet level');

program
  .command('scenario')
  .description('run scenarios (by name from scenarios/, or a path) in the embedded netns lab')
  .argument('<names...>')
  .option('--keep', 'leave the lab up afterwards and print how to poke it', false)
  .option('--run-dir <dir>', 'where run directories go', process.env.EGRESS_LAB_RUN_DIR ?? join(process.cwd(), 'runs'))
  .addOption(new Option('--backend <name>', 'where to run').choices(['netns']).default('netns'))
  .action(scenarioCommand);

const lab = program.command('lab').description('manage lab objects left by kept or crashed runs');
lab
  .command('down')
  .description('remove every lab namespace, process and /etc/netns entry (of one run with --prefix)')
  .option('--prefix <prefix>', 'only the run with this prefix', LAB_PREFIX)
  .action(async (opts: { prefix: string }) => {
    requireRoot();
    const report = await sweep(opts.prefix);
    console.log(report.namespaces.length ? `removed ${report.namespaces.length} namespace(s): ${report.namespaces.join(' ')}` : 'no lab namespaces found');
    if (report.etcDirs.length) console.log(`removed stale /etc/netns entries: ${report.etcDirs.join(' ')}`);
  });
lab
  .command('status')
  .description('list lab namespaces that exist')
  .action(async () => {
    const names = await labNamespaces(LAB_PREFIX);
    console.log(names.length ? names.join('\n') : 'no lab namespaces');
  });

program
  .command('validate')
  .description('check scenario files without creating anything')
  .argument('<files...>')
  .action((files: string[]) => {
    for (const l of loadAll(files)) console.log(`ok ${l.file} (${l.scenario.name}, Istio ${l.istio.text}, ${l.scenario.probes.length} probes)`);
  });

program
  .command('proxy-config')
  .description('istioctl proxy-config views of a sidecar: from a kept lab (pod name) or a saved config_dump.json')
  .argument('<kind>', 'listener | cluster | route | endpoint')
  .argument('<target>', 'a pod of a kept lab (e.g. sleep), or a path to a run\'s pods/<pod>/config_dump.json')
  .option('--port <n>', 'only this port', Number)
  .option('--address <ip>', 'listener or endpoint address')
  .option('--type <type>', 'listener type')
  .option('--fqdn <host>', 'cluster FQDN')
  .option('--direction <dir>', 'cluster direction')
  .option('--subset <subset>', 'cluster subset')
  .option('--name <name>', 'route name')
  .option('--cluster <name>', 'endpoint cluster')
  .option('--prefix <prefix>', 'the kept lab to read, when several are up')
  .option('--run-dir <dir>', 'where run directories are', process.env.EGRESS_LAB_RUN_DIR ?? join(process.cwd(), 'runs'))
  .addOption(new Option('-o, --output <format>', 'table or JSON').choices(['short', 'json']).default('short'))
  .action(async (kind: string, target: string, opts: ProxyConfigOptions) => {
    if (!PROXY_CONFIG_KINDS.includes(kind as ProxyConfigKind)) {
      console.error(`egress-lab proxy-config: <kind> must be one of ${PROXY_CONFIG_KINDS.join(', ')}, got "${kind}"`);
      process.exit(EXIT_USAGE);
    }
    try {
      const dump = await loadConfigDump(target, opts);
      process.stdout.write(proxyConfigView(kind as ProxyConfigKind, dump, opts, opts.output));
    } catch (err) {
      console.error(`egress-lab proxy-config: ${(err as Error).message}`);
      process.exit(EXIT_USAGE);
    }
  });

program
  .command('iptables')
  .description("print the iptables-restore text istio-iptables would apply for its own flags, e.g. -- -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x \"\" -b '*' -d 15090,15021,15020")
  .option('--istio <version>', 'Istio version whose rule shapes to use', '1.30')
  .argument('[flags...]', "istio-iptables flags (after --)")
  .action((flags: string[], opts: { istio: string }) => {
    const version = parseIstioVersion(opts.istio);
    if (typeof version === 'string') {
      console.error(`egress-lab iptables: --istio: ${version}`);
      process.exit(EXIT_USAGE);
    }
    try {
      const cfg = parseIstioIptablesArgs(flags, version.era);
      if (version.era === 'legacy') cfg.legacyChainCase = legacyChainCase(version.minor);
      process.stdout.write(renderRestore(cfg));
    } catch (err) {
      console.error(`egress-lab iptables: ${(err as Error).message}`);
      process.exit(EXIT_USAGE);
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(`egress-lab: ${err.message}`);
  process.exit(EXIT_FAIL);
});

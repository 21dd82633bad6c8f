/**
 * egress-lab's command line:
 *   scenario NAME... [--keep]     run scenarios in the embedded lab, every step shown
 *   scenarios [PATTERN...]         the catalog or a selection, quiet on success, with reports
 *   list [PATTERN...]              what the catalog holds
 *   lab down | lab status          sweep or list what runs left behind
 *   validate FILE...               check scenario files without running anything
 *   iptables [--istio V] -- FLAGS  print istio-iptables' restore text for its own flags
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR, ScenarioError, type LoadedScenario } from './scenario/load.ts';
import { parseIstioVersion } from './scenario/istioVersion.ts';
import { labNamespaces } from './lab/netns.ts';
import { sweep } from './lab/sweep.ts';
import { LAB_PREFIX } from './lab/topology.ts';
import { ConsoleReporter, QuietReporter } from './run/report.ts';
import type { CleanupMode } from './run/runner.ts';
import { reportDirFor, runSuite, stopNow, type StopSignal } from './run/suite.ts';
import { selectScenarios } from './run/select.ts';
import { summarize, type SuiteResult } from './report/suiteResult.ts';
import { durationMs } from './model/routes.ts';
import type { BackendChoice } from './run/suite.ts';
import { SIDECAR_CHOICES, enginesFor, type SidecarChoice } from './run/engines.ts';
import { realParts, realPartsMissing } from './istio/parts.ts';
import { validateWithIstio } from './istio/validation.ts';
import { kindSkipReason } from './kind/kindBackend.ts';
import { kindPlan, renderPlan } from './kind/dryRun.ts';
import { doctor, renderDoctor } from './kind/doctor.ts';
import { deleteCommands, IMAGES, preloadCommands } from './kind/clusterPlan.ts';
import { renderCommand } from './kind/plan.ts';
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { parseIstioIptablesArgs } from './model/iptablesFlags.ts';
import { legacyChainCase, renderRestore } from './model/iptables.ts';
import { proxyConfigView, type ProxyConfigKind } from './views/proxyConfig.ts';
import { loadConfigDump, PROXY_CONFIG_KINDS, type ProxyConfigOptions } from './views/configSource.ts';

const EXIT_FAIL = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

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

/**
 * Istio's own validation (lab-istiod validate, from the module the control plane is built from) of
 * the scenarios' Istio objects, before anything is created. Without the real parts it is skipped
 * with a note, unless the run needs them anyway.
 */
async function istioValidation(loaded: LoadedScenario[], partsRequired: boolean): Promise<ScenarioError[]> {
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

/** Every scenario in scenarios/, plus any pattern that is a path to a scenario file. */
function catalog(patterns: string[]): { loaded: LoadedScenario[]; patterns: string[] } {
  const files = patterns.filter((p) => p.endsWith('.yaml') && existsSync(p));
  const names = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'));
  return {
    loaded: loadAll([...names.map((f) => join(SCENARIO_DIR, f)), ...files]),
    patterns: patterns.filter((p) => !files.includes(p)).concat(files.map((f) => loadAll([f])[0]!.scenario.name)),
  };
}

interface SuiteCliOptions {
  backend: BackendChoice;
  sidecar: SidecarChoice;
  dryRun?: boolean;
  cleanup: CleanupMode;
  repeat: number;
  untilFail: boolean;
  timeout?: string;
  runDir: string;
  reportDir?: string;
  verbose: boolean;
  tag: string[];
}

/** Ctrl-C or SIGTERM: stop the run, remove the lab that is up, still write the reports. */
function stopOnSignals(stop: StopSignal): void {
  const handler = (sig: NodeJS.Signals) => {
    if (stop.reason) return;
    console.error(`\negress-lab: interrupted (${sig}); removing the lab and writing the reports...`);
    void stopNow(stop, `interrupted (${sig})`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function printTable(result: SuiteResult): void {
  const rows = result.runs.map((r) => {
    const probes = r.outcome?.probes ?? [];
    const attempt = result.runs.some((x) => x.attempt > 1) ? ` #${r.attempt}` : '';
    return [`${r.scenario}${attempt}`, r.backend, r.status.toUpperCase(), `${probes.filter((p) => p.ok).length}/${probes.length}`, `${(r.durationMs / 1000).toFixed(1)} s`];
  });
  const header = ['scenario', 'backend', 'result', 'probes', 'time'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of result.runs.filter((x) => x.status === 'skipped' && x.reason)) console.log(`  ${r.scenario} on ${r.backend} skipped: ${r.reason}`);
}

/** --dry-run: the kind command plan of each scenario, nothing run. */
function printKindPlans(loaded: LoadedScenario[]): void {
  for (const l of loaded) {
    const skip = kindSkipReason(l);
    console.log(`### ${l.scenario.name}${skip ? `: skipped on kind: ${skip}` : ''}`);
    if (!skip) process.stdout.write(renderPlan(kindPlan(l)));
  }
}

/** Why the kind backend cannot run on this machine, or undefined. */
async function kindAvailability(): Promise<string | undefined> {
  const report = await doctor();
  const engine = report.checks.find((c) => /docker/i.test(c.name));
  return engine && !engine.ok ? `no Docker engine: ${engine.detail}` : undefined;
}

async function suiteCommand(loaded: LoadedScenario[], selection: string[], opts: SuiteCliOptions): Promise<void> {
  if (opts.dryRun) {
    if (opts.backend === 'netns') {
      console.error('egress-lab: --dry-run prints the kind backend\'s command plan; use it with --backend kind or both');
      process.exit(EXIT_USAGE);
    }
    printKindPlans(loaded);
    return;
  }
  const needsRealParts = opts.backend !== 'kind' && loaded.some((l) => enginesFor(l, opts.sidecar).engines.includes('envoy'));
  const rejected = await istioValidation(loaded, needsRealParts);
  if (rejected.length > 0) {
    for (const e of rejected) console.error(e.message);
    process.exit(EXIT_USAGE);
  }
  // The netns lab needs root; kind alone needs only a Docker engine the user can reach.
  if (opts.backend !== 'kind') requireRoot();
  const kindUnavailable = opts.backend !== 'netns' ? await kindAvailability() : undefined;
  if (kindUnavailable) console.log(`kind backend: ${kindUnavailable}; kind runs are reported as skipped`);
  const timeoutMs = opts.timeout ? durationMs(opts.timeout) : undefined;
  const reportDir = opts.reportDir ?? reportDirFor(opts.runDir);
  const stop: StopSignal = {};
  stopOnSignals(stop);
  const reporter = opts.verbose ? new ConsoleReporter() : new QuietReporter();
  const result = await runSuite(
    {
      scenarios: loaded,
      selection,
      backend: opts.backend,
      sidecar: opts.sidecar,
      ...(kindUnavailable ? { kindUnavailable } : {}),
      onComparison: (name, title, text) => console.log(`${title}, ${name}:\n${text}`),
      cleanup: opts.cleanup,
      repeat: opts.repeat,
      untilFail: opts.untilFail,
      timeoutMs,
      runDir: opts.runDir,
      reportDir,
      reporter,
    },
    stop,
  );
  if (loaded.length > 1 || opts.repeat > 1) printTable(result);
  const sum = summarize(result);
  console.log(`reports: ${reportDir}/junit.xml, report.html, result.json, timings.json`);
  if (result.interrupted) {
    console.error(`egress-lab: ${result.interrupted}: the lab was removed, nothing is left behind; partial reports are in ${reportDir}`);
    process.exit(EXIT_INTERRUPTED);
  }
  console.log(`${sum.passed} passed, ${sum.failed + sum.errors} failed`);
  process.exit(sum.failed + sum.errors > 0 ? EXIT_FAIL : 0);
}

const program = new Command('egress-lab').description('Reproduce Istio egress incidents at the packet level');

const cleanupOption = () =>
  new Option('--cleanup <mode>', 'remove labs always, only when the scenario passed, or never').choices(['always', 'on-success', 'never']).default('always');
const backendOption = () =>
  new Option('--backend <name>', 'netns: the embedded lab; kind: a kind cluster with real Istio; both: each, compared').choices(['netns', 'kind', 'both']).default('netns');
const sidecarOption = () =>
  new Option('--sidecar <engine>', "the netns lab's sidecar: envoy (real Istio and Envoy), model (the TypeScript model; always for Istio 1.4-1.6), both (each, compared)")
    .choices([...SIDECAR_CHOICES])
    .default('envoy');
const runDirOption = () => new Option('--run-dir <dir>', 'where run directories go').default(process.env.EGRESS_LAB_RUN_DIR ?? join(process.cwd(), 'runs'));

program
  .command('scenario')
  .description('run scenarios (by name from scenarios/, or a path) in the embedded netns lab, with every step shown')
  .argument('<names...>')
  .option('--keep', 'leave the lab up afterwards and print how to poke it (same as --cleanup never)', false)
  .addOption(cleanupOption())
  .addOption(runDirOption())
  .option('--report-dir <dir>', 'where the JUnit, JSON and HTML reports go (default: a new folder in the run dir)')
  .addOption(backendOption())
  .addOption(sidecarOption())
  .option('--dry-run', 'print the kind backend\'s command plan (with --backend kind|both) and run nothing', false)
  .action((names: string[], opts: SuiteCliOptions & { keep: boolean }) =>
    suiteCommand(loadAll(names), names, { ...opts, cleanup: opts.keep ? 'never' : opts.cleanup, repeat: 1, untilFail: false, verbose: true, tag: [] }),
  );

program
  .command('scenarios')
  .description('run the catalog or a selection: names or regexes, "!x" to exclude; quiet on success, full evidence on failure')
  .argument('[patterns...]', 'scenario names, regexes, !exclusions or paths to scenario files')
  .option('--tag <tag>', 'only scenarios with this tag ("!tag" excludes); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .addOption(cleanupOption())
  .option('--repeat <n>', 'run the selection n times (flake hunting)', (v) => Number(v), 1)
  .option('--until-fail', 'repeat until an attempt fails (at most --repeat times, default 100)', false)
  .option('--timeout <duration>', 'whole-run timeout, e.g. 30m or 90s')
  .addOption(runDirOption())
  .option('--report-dir <dir>', 'where the JUnit, JSON and HTML reports go (default: a new folder in the run dir)')
  .option('--verbose', 'print every step of every scenario, not only of failing ones', false)
  .addOption(backendOption())
  .addOption(sidecarOption())
  .option('--dry-run', 'print the kind backend\'s command plan (with --backend kind|both) and run nothing', false)
  .action((patterns: string[], opts: SuiteCliOptions) => {
    const { loaded, patterns: pats } = catalog(patterns);
    let selected: LoadedScenario[];
    try {
      const chosen = selectScenarios(loaded.map((l) => ({ name: l.scenario.name, tags: l.scenario.tags, l })), { patterns: pats, tags: opts.tag });
      selected = chosen.map((c) => c.l);
    } catch (err) {
      console.error(`egress-lab scenarios: ${(err as Error).message}`);
      process.exit(EXIT_USAGE);
    }
    if (selected.length === 0) {
      console.error('egress-lab scenarios: the selection is empty');
      process.exit(EXIT_USAGE);
    }
    const repeat = opts.untilFail && opts.repeat === 1 ? 100 : opts.repeat;
    return suiteCommand(selected, [...patterns, ...opts.tag.map((t) => `tag:${t}`)], { ...opts, repeat });
  });

program
  .command('list')
  .description('list scenarios with their tags and what they reproduce')
  .argument('[patterns...]')
  .option('--tag <tag>', 'only scenarios with this tag', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .action((patterns: string[], opts: { tag: string[] }) => {
    const { loaded, patterns: pats } = catalog(patterns);
    const chosen = selectScenarios(loaded.map((l) => ({ name: l.scenario.name, tags: l.scenario.tags, l })), { patterns: pats, tags: opts.tag });
    for (const { l } of chosen) {
      const s = l.scenario;
      console.log(`${s.name}  (Istio ${l.istio.text}, ${s.mesh.outboundTrafficPolicy}; ${s.tags.join(', ')})`);
      console.log(`    ${s.description.trim().replace(/\s+/g, ' ')}\n`);
    }
  });

const lab = program.command('lab').description('manage lab objects left by kept or crashed runs');
lab
  .command('down')
  .description('remove every lab namespace, process and /etc/netns entry (of one run with --prefix)')
  .option('--prefix <prefix>', 'only the run with this prefix', LAB_PREFIX)
  .addOption(new Option('--backend <name>', 'netns: lab namespaces; kind: delete the egress-lab kind cluster').choices(['netns', 'kind']).default('netns'))
  .action(async (opts: { prefix: string; backend: string }) => {
    if (opts.backend === 'kind') {
      for (const c of deleteCommands()) {
        console.log(`$ ${renderCommand(c)}`);
        const r = await execa(c.program, c.args, { reject: false });
        if (r.exitCode !== 0) console.error(r.stderr || r.stdout);
      }
      return;
    }
    requireRoot();
    const report = await sweep(opts.prefix);
    if (report.cgroups.length) console.log(`killed the processes of ${report.cgroups.length} run cgroup(s): ${report.cgroups.join(' ')}`);
    console.log(report.namespaces.length ? `removed ${report.namespaces.length} namespace(s): ${report.namespaces.join(' ')}` : 'no lab namespaces found');
    if (report.etcDirs.length) console.log(`removed stale /etc/netns entries: ${report.etcDirs.join(' ')}`);
  });
lab
  .command('doctor')
  .description('check what the kind backend needs: Docker engine, kind/kubectl/istioctl, disk, inotify limits')
  .action(async () => {
    const report = await doctor();
    process.stdout.write(renderDoctor(report));
    process.exit(report.checks.every((c) => c.ok) ? 0 : EXIT_FAIL);
  });
lab
  .command('preload')
  .description('pull the images the kind backend uses and load them into the egress-lab cluster (offline and CI runs)')
  .option('--dry-run', 'print the commands only', false)
  .action(async (opts: { dryRun: boolean }) => {
    for (const c of preloadCommands(IMAGES)) {
      console.log(`$ ${renderCommand(c)}`);
      if (opts.dryRun) continue;
      const r = await execa(c.program, c.args, { reject: false, stdio: 'inherit' });
      if (r.exitCode !== 0) process.exit(EXIT_FAIL);
    }
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
  .action(async (files: string[]) => {
    // Every file is checked, so that one run lists every problem.
    const loaded: LoadedScenario[] = [];
    let bad = 0;
    for (const f of files) {
      try {
        loaded.push(loadScenarioFile(f));
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
      // Like istio-iptables, read the inputs it takes only from the environment (owner groups, loopback CIDR).
      const cfg = parseIstioIptablesArgs(flags, version.era, process.env);
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

/**
 * egress-lab's command line:
 *   scenario NAME... [--keep]     run scenarios in the embedded lab, every step shown
 *   scenarios [PATTERN...]         the catalog or a selection, quiet on success, with reports
 *   list [PATTERN...]              what the catalog holds
 *   lab down | lab status          sweep or list what runs left behind
 *   validate FILE...               check scenario files without running anything
 *   iptables [--istio V] -- FLAGS  print istio-iptables' restore text for its own flags
 *   explain --config-dump F --to IP:PORT   which listener, chain, route and cluster, and why
 *   import FILE... --pod NS/NAME --to H:P  a scenario from a customer's cluster (--record: run it, keep what it saw)
 *   replay --config-dump F --to IP:PORT    a customer's config dump run in the lab's Envoy, probed
 */
import { stringify as stringifyYaml } from 'yaml';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR, ScenarioError, type LoadedScenario } from './scenario/load.ts';
import { parseIstioVersion } from './scenario/istioVersion.ts';
import { labNamespaces } from './lab/netns.ts';
import { sweep } from './lab/sweep.ts';
import { LAB_PREFIX } from './lab/topology.ts';
import { ConsoleReporter, GroupedReporter, QuietReporter } from './report/console.ts';
import { labCgroups } from './proc/cgroup.ts';
import { DEFAULT_RETENTION, parseAge, pruneRuns } from './run/retention.ts';
import type { CleanupMode } from './run/runner.ts';
import { reportDirFor, runSuite, stopNow, type StopSignal } from './run/suite.ts';
import { selectScenarios } from './run/select.ts';
import { summarize, type SuiteResult } from './report/suiteResult.ts';
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
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseIstioIptablesArgs } from './model/iptablesFlags.ts';
import { legacyChainCase, renderRestore } from './model/iptables.ts';
import { proxyConfigView, type ProxyConfigKind } from './views/proxyConfig.ts';
import { loadConfigDump, PROXY_CONFIG_KINDS, type ProxyConfigOptions } from './lab/configSource.ts';
import { explainCommand } from './commands/explain.ts';
import { importScenario, type ImportOptions } from './commands/import.ts';
import { recordedExpect, recordIntoScenario } from './import/record.ts';
import { prepareReplay, type ReplayCliOptions } from './commands/replay.ts';
import type { ReplayInput } from './lab/replaySidecar.ts';
import { callerPath, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_USAGE } from './core/cliArgs.ts';

const REPO = resolve(import.meta.dirname, '..');

// Option values are checked as they are parsed, so a bad one is a usage error (exit 2) naming it.
function positiveInt(v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(v);
}

function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected a duration like 30m, 90s, 500ms or 1h');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function runPrefix(v: string): string {
  if (!/^egl-[0-9a-f]{6}$/.test(v)) throw new InvalidArgumentError('expected a run prefix like egl-1a2b3c, as the run printed it');
  return v;
}

function age(v: string): number {
  try {
    return parseAge(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
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
  const files = patterns.filter((p) => p.endsWith('.yaml') && existsSync(callerPath(p)));
  const names = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'));
  return {
    loaded: loadAll([...names.map((f) => join(SCENARIO_DIR, f)), ...files]),
    patterns: patterns.filter((p) => !files.includes(p)).concat(files.map((f) => loadAll([f])[0]!.scenario.name)),
  };
}

interface SuiteCliOptions {
  /** Write what the run saw into each scenario file as its expectations (harness/import/record.ts). */
  record?: boolean;
  /** Run this config dump in the lab's Envoy (egress-lab replay), and print what each probe saw. */
  replay?: ReplayInput;
  backend: BackendChoice;
  sidecar: SidecarChoice;
  dryRun?: boolean;
  cleanup: CleanupMode;
  repeat: number;
  untilFail: boolean;
  /** Whole-run budget in ms (parsed from --timeout). */
  timeout?: number;
  jobs: number;
  runDir: string;
  reportDir?: string;
  verbose: boolean;
  tag: string[];
}

/** Ctrl-C or SIGTERM: stop the run, remove the lab that is up, still write the reports. */
function stopOnSignals(stop: StopSignal): void {
  // bin/egress-lab.js exits at once on a signal while nothing exists; from here on, a signal stops the run.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    for (const l of process.listeners(sig)) if (l.name === 'earlyInterrupt') process.off(sig, l);
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
    return [
      `${r.scenario}${attempt}`,
      r.backend,
      r.status.toUpperCase(),
      `${probes.filter((p) => p.ok).length}/${probes.length}`,
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ];
  });
  const header = ['scenario', 'backend', 'result', 'probes', 'time'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of result.runs.filter((x) => x.status === 'skipped' && x.reason))
    console.log(`  ${r.scenario} on ${r.backend} skipped: ${r.reason}`);
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
      console.error("egress-lab: --dry-run prints the kind backend's command plan; use it with --backend kind or both");
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
  const timeoutMs = opts.timeout;
  const retention = process.env.EGRESS_LAB_RETENTION ?? DEFAULT_RETENTION;
  if (retention !== 'off') {
    const pruned = pruneRuns(opts.runDir, { olderThanMs: parseAge(retention), now: Date.now(), live: await livePrefixes() });
    if (pruned.length > 0)
      console.log(
        `pruned ${pruned.length} run director${pruned.length === 1 ? 'y' : 'ies'} older than ${retention} from ${opts.runDir} (EGRESS_LAB_RETENTION)`,
      );
  }
  const reportDir = opts.reportDir ?? reportDirFor(opts.runDir);
  const stop: StopSignal = {};
  stopOnSignals(stop);
  // Side by side, each scenario's output is held back and printed as one block.
  const reporter =
    opts.jobs > 1
      ? () => (opts.verbose ? new GroupedReporter() : new QuietReporter())
      : opts.verbose
        ? new ConsoleReporter()
        : new QuietReporter();
  const result = await runSuite(
    {
      scenarios: loaded,
      selection,
      backend: opts.backend,
      sidecar: opts.sidecar,
      ...(kindUnavailable ? { kindUnavailable } : {}),
      onComparison: (name, title, text) => console.log(`${title}, ${name}:\n${text}`),
      ...(opts.replay ? { replay: opts.replay } : {}),
      cleanup: opts.cleanup,
      repeat: opts.repeat,
      untilFail: opts.untilFail,
      timeoutMs,
      jobs: opts.jobs,
      runDir: opts.runDir,
      reportDir,
      reporter,
    },
    stop,
  );
  if (loaded.length > 1 || opts.repeat > 1) printTable(result);
  if (opts.record) recordRuns(loaded, result);
  if (opts.replay) printSeen(result);
  const sum = summarize(result);
  console.log(`reports: ${reportDir}/junit.xml, report.html, result.json, timings.json`);
  if (result.interrupted) {
    // Said only once it is checked: every lab the run started is gone, cgroup and namespaces.
    const left = await leftoversOf(stop.prefixes ?? []);
    const what =
      left.length === 0
        ? 'the lab was removed, nothing is left behind'
        : `these were left behind: ${left.join(', ')} (npm run lab -- down --prefix <prefix>)`;
    console.error(`egress-lab: ${result.interrupted}: ${what}; partial reports are in ${reportDir}`);
    process.exit(EXIT_INTERRUPTED);
  }
  console.log(`${sum.passed} passed, ${sum.failed + sum.errors} failed`);
  process.exit(sum.failed + sum.errors > 0 ? EXIT_FAIL : 0);
}

/** --record: each scenario file gets what its run saw as expectations; a run that never probed records nothing. */
function recordRuns(loaded: LoadedScenario[], result: SuiteResult): void {
  const when = new Date().toISOString().slice(0, 10);
  for (const l of loaded) {
    const run = result.runs.find((r) => r.scenario === l.scenario.name && r.outcome && r.outcome.probes.some((p) => p.result));
    if (!run?.outcome) {
      console.log(`record: ${l.file}: no probe ran, nothing recorded`);
      continue;
    }
    const { text, recorded } = recordIntoScenario(readFileSync(l.file, 'utf8'), run.outcome, when);
    writeFileSync(l.file, text);
    console.log(
      `recorded what ${run.backend} saw into ${l.file} (${recorded.length} probe(s): ${recorded.join(', ')}); run it again to check it, and edit what should differ`,
    );
  }
}

/** One scenario once in the netns lab with the real sidecar, every step shown (import --record, replay). */
function oneRun(runDir: string, extra: Partial<SuiteCliOptions>): SuiteCliOptions {
  return {
    backend: 'netns',
    sidecar: 'envoy',
    cleanup: 'always',
    repeat: 1,
    untilFail: false,
    jobs: 1,
    runDir,
    verbose: true,
    tag: [],
    ...extra,
  };
}

/** replay: what each probe saw, in the terms of a scenario's expectations. */
function printSeen(result: SuiteResult): void {
  for (const run of result.runs) {
    for (const p of run.outcome?.probes ?? []) {
      const seen = recordedExpect(
        p,
        run.outcome!.sidecar?.describe ?? run.backend,
        new Date().toISOString().slice(0, 10),
        'seen by egress-lab replay',
      );
      console.log(
        `seen by ${p.probe.name}:\n${seen ? stringifyYaml(seen, { lineWidth: 0 }).replace(/^/gm, '  ') : `  nothing: ${p.error ?? 'it did not run'}\n`}`,
      );
    }
  }
}

/** Namespaces and cgroups that still exist for these run prefixes. */
async function leftoversOf(prefixes: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const p of prefixes) {
    left.push(...(await labNamespaces(`${p}-`)).map((n) => `namespace ${n}`));
    left.push(
      ...labCgroups(p)
        .filter((c) => c === p)
        .map((c) => `cgroup ${c}`),
    );
  }
  return left;
}

/** Run prefixes with a namespace or cgroup on this host: labs up (kept, in progress or crashed). */
async function livePrefixes(): Promise<string[]> {
  const of = (name: string) => /^(egl-[0-9a-f]{6})/.exec(name)?.[1];
  const names = [...(await labNamespaces(LAB_PREFIX).catch(() => [])), ...labCgroups(LAB_PREFIX)];
  return [...new Set(names.map(of).filter((p): p is string => !!p))].sort();
}

const program = new Command('egress-lab').description('Reproduce Istio egress incidents at the packet level');
// Usage errors (unknown option, missing argument, bad value) exit 2, not commander's 1.
program.exitOverride();

const cleanupOption = () =>
  new Option('--cleanup <mode>', 'remove labs always, only when the scenario passed, or never')
    .choices(['always', 'on-success', 'never'])
    .default('always');
const backendOption = () =>
  new Option('--backend <name>', 'netns: the embedded lab; kind: a kind cluster with real Istio; both: each, compared')
    .choices(['netns', 'kind', 'both'])
    .default('netns');
const sidecarOption = () =>
  new Option(
    '--sidecar <engine>',
    "the netns lab's sidecar: envoy (real Istio and Envoy), model (the TypeScript model; always for Istio 1.4-1.6), both (each, compared)",
  )
    .choices([...SIDECAR_CHOICES])
    .default('envoy');
const runDirOption = () =>
  new Option('--run-dir <dir>', 'where run directories go')
    .argParser(callerPath)
    .default(process.env.EGRESS_LAB_RUN_DIR ? callerPath(process.env.EGRESS_LAB_RUN_DIR) : join(REPO, 'runs'));
const reportDirOption = () =>
  new Option('--report-dir <dir>', 'where the JUnit, JSON and HTML reports go (default: a new folder in the run dir)').argParser(
    callerPath,
  );
const jobsOption = (fallback: number) =>
  new Option('--jobs <n>', 'scenarios side by side (the netns lab only; kind runs one at a time)').argParser(positiveInt).default(fallback);

program
  .command('scenario')
  .description('run scenarios (by name from scenarios/, or a path) in the embedded netns lab, with every step shown')
  .argument('<names...>')
  .option('--keep', 'leave the lab up afterwards and print how to poke it (same as --cleanup never)', false)
  .addOption(cleanupOption())
  .addOption(runDirOption())
  .addOption(reportDirOption())
  .addOption(jobsOption(1))
  .addOption(new Option('--timeout <duration>', 'whole-run timeout, e.g. 30m or 90s (exit 130 when it runs out)').argParser(duration))
  .addOption(backendOption())
  .addOption(sidecarOption())
  .option('--dry-run', "print the kind backend's command plan (with --backend kind|both) and run nothing", false)
  .option('--record', "write what the run saw into the scenario file as its expectations (replacing the probes' expect)", false)
  .action((names: string[], opts: SuiteCliOptions & { keep: boolean }) =>
    suiteCommand(loadAll(names), names, {
      ...opts,
      cleanup: opts.keep ? 'never' : opts.cleanup,
      repeat: 1,
      untilFail: false,
      verbose: true,
      tag: [],
    }),
  );

program
  .command('scenarios')
  .description('run the catalog or a selection: names or regexes, "!x" to exclude; quiet on success, full evidence on failure')
  .argument('[patterns...]', 'scenario names, regexes, !exclusions or paths to scenario files')
  .option(
    '--tag <tag>',
    'only scenarios with this tag ("!tag" excludes); repeatable',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .addOption(cleanupOption())
  .addOption(new Option('--repeat <n>', 'run the selection n times (flake hunting)').argParser(positiveInt))
  .option('--until-fail', 'repeat until an attempt fails (at most --repeat times, default 100)', false)
  .addOption(new Option('--timeout <duration>', 'whole-run timeout, e.g. 30m or 90s (exit 130 when it runs out)').argParser(duration))
  .addOption(runDirOption())
  .addOption(reportDirOption())
  .addOption(jobsOption(availableParallelism()))
  .option('--verbose', 'print every step of every scenario, not only of failing ones', false)
  .addOption(backendOption())
  .addOption(sidecarOption())
  .option('--dry-run', "print the kind backend's command plan (with --backend kind|both) and run nothing", false)
  .action((patterns: string[], opts: SuiteCliOptions) => {
    const { loaded, patterns: pats } = catalog(patterns);
    let selected: LoadedScenario[];
    try {
      const chosen = selectScenarios(
        loaded.map((l) => ({ name: l.scenario.name, tags: l.scenario.tags, l })),
        { patterns: pats, tags: opts.tag },
      );
      selected = chosen.map((c) => c.l);
    } catch (err) {
      console.error(`egress-lab scenarios: ${(err as Error).message}`);
      process.exit(EXIT_USAGE);
    }
    if (selected.length === 0) {
      console.error('egress-lab scenarios: the selection is empty');
      process.exit(EXIT_USAGE);
    }
    const repeat = opts.repeat ?? (opts.untilFail ? 100 : 1);
    return suiteCommand(selected, [...patterns, ...opts.tag.map((t) => `tag:${t}`)], { ...opts, repeat });
  });

program
  .command('list')
  .description('list scenarios with their tags and what they reproduce')
  .argument('[patterns...]')
  .option('--tag <tag>', 'only scenarios with this tag', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .action((patterns: string[], opts: { tag: string[] }) => {
    const { loaded, patterns: pats } = catalog(patterns);
    const chosen = selectScenarios(
      loaded.map((l) => ({ name: l.scenario.name, tags: l.scenario.tags, l })),
      { patterns: pats, tags: opts.tag },
    );
    for (const { l } of chosen) {
      const s = l.scenario;
      console.log(`${s.name}  (Istio ${l.istio.text}, ${s.mesh.outboundTrafficPolicy}; ${s.tags.join(', ')})`);
      console.log(`    ${s.description.trim().replace(/\s+/g, ' ')}\n`);
    }
  });

const lab = program.command('lab').description('manage lab objects left by kept or crashed runs');
lab
  .command('down')
  .description("remove one run's lab (--prefix) or every lab (--all): its processes (by cgroup), namespaces, /etc/netns entries")
  .addOption(new Option('--prefix <prefix>', 'the run to remove, as it printed its prefix (egl-xxxxxx)').argParser(runPrefix))
  .option('--all', 'every lab on this host, including those of runs in progress', false)
  .addOption(
    new Option('--backend <name>', 'netns: lab namespaces; kind: delete the egress-lab kind cluster')
      .choices(['netns', 'kind'])
      .default('netns'),
  )
  .action(async (opts: { prefix?: string; all: boolean; backend: string }) => {
    if (opts.backend === 'kind') {
      for (const c of deleteCommands()) {
        console.log(`$ ${renderCommand(c)}`);
        const r = await execa(c.program, c.args, { reject: false });
        if (r.exitCode !== 0) console.error(r.stderr || r.stdout);
      }
      return;
    }
    requireRoot();
    if (!opts.prefix && !opts.all) {
      // Sweeping everything would also kill runs in progress: say what is there and ask.
      const live = await livePrefixes();
      if (live.length === 0) {
        console.log('no lab objects found');
        return;
      }
      console.error(`labs on this host: ${live.join(' ')}`);
      console.error('remove one with: npm run lab -- down --prefix <prefix>; remove all of them, runs in progress included, with --all');
      process.exit(EXIT_USAGE);
    }
    const report = await sweep(opts.prefix ?? LAB_PREFIX);
    if (report.cgroups.length) console.log(`killed the processes of ${report.cgroups.length} run cgroup(s): ${report.cgroups.join(' ')}`);
    console.log(
      report.namespaces.length
        ? `removed ${report.namespaces.length} namespace(s): ${report.namespaces.join(' ')}`
        : 'no lab namespaces found',
    );
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
lab
  .command('prune')
  .description(
    `remove old run and report directories (a run also removes those older than EGRESS_LAB_RETENTION, default ${DEFAULT_RETENTION})`,
  )
  .addOption(new Option('--keep <n>', 'keep the newest n').argParser(positiveInt))
  .addOption(new Option('--older-than <age>', 'remove those older than this, e.g. 7d, 12h').argParser(age))
  .addOption(runDirOption())
  .action(async (opts: { keep?: number; olderThan?: number; runDir: string }) => {
    if (opts.keep === undefined && opts.olderThan === undefined) {
      console.error('egress-lab lab prune: say what to keep: --keep N or --older-than AGE');
      process.exit(EXIT_USAGE);
    }
    const removed = pruneRuns(opts.runDir, { keep: opts.keep, olderThanMs: opts.olderThan, now: Date.now(), live: await livePrefixes() });
    console.log(
      removed.length
        ? `removed ${removed.length} from ${opts.runDir}:\n${removed.map((r) => `  ${r}`).join('\n')}`
        : `nothing to remove in ${opts.runDir}`,
    );
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
  .argument('<target>', "a pod of a kept lab (e.g. sleep), or a path to a run's pods/<pod>/config_dump.json")
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
      const dump = await loadConfigDump(existsSync(callerPath(target)) ? callerPath(target) : target, opts);
      process.stdout.write(proxyConfigView(kind as ProxyConfigKind, dump, opts, opts.output));
    } catch (err) {
      console.error(`egress-lab proxy-config: ${(err as Error).message}`);
      process.exit(EXIT_USAGE);
    }
  });

program
  .command('import')
  .description(
    "a scenario from a customer's cluster: kubectl get -o yaml output, the pod's YAML, the istio ConfigMap, or an istioctl bug-report archive",
  )
  .argument('<files...>', 'YAML/JSON files (lists or single objects) and .tar.gz bug-report archives')
  .requiredOption('--pod <ns/name>', 'the client pod whose traffic to reproduce')
  .requiredOption('--to <host:port>', 'a destination the pod dials (repeatable)', (v: string, acc?: string[]) => [...(acc ?? []), v])
  .option(
    '--server-kind <host:port=kind>',
    'what answers at a destination: redis, mysql, http or https (default: guessed from the port)',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option('--istio <version>', "the Istio version the scenario assumes (default: the pod's istio-proxy image tag)")
  .option('--name <name>', 'the scenario name (default: import-<pod name>)')
  .option('-o, --output <file>', 'where to write it (default: ./<name>.yaml)', callerPath)
  .option('--force', 'replace the output file if it exists', false)
  .option('--record', 'then run it once in the lab and write what it saw as its expectations', false)
  .addOption(runDirOption())
  .action(async (files: string[], opts: ImportOptions & { record: boolean; runDir: string }) => {
    const file = await importScenario(files.map(callerPath), opts);
    if (!opts.record) return;
    await suiteCommand(loadAll([file]), [file], oneRun(opts.runDir, { record: true }));
  });

program
  .command('replay')
  .description(
    "run a customer's config dump in the lab's real Envoy, behind Istio's iptables in a pod namespace, and probe destinations through it",
  )
  .requiredOption('--config-dump <file>', "Envoy's /config_dump?include_eds or istioctl proxy-config all -o json", callerPath)
  .requiredOption('--to <ip:port>', 'a destination to probe through it (repeatable)', (v: string, acc?: string[]) => [...(acc ?? []), v])
  .option('--map <file>', "which lab server answers at each of the customer's addresses (YAML; README: Replay)", callerPath)
  .option('--keep', 'leave the lab up afterwards', false)
  .addOption(runDirOption())
  .action(async (opts: ReplayCliOptions) => {
    // The mapping is printed with the run's fidelity lines (harness/lab/replaySidecar.ts).
    const { loaded, input } = prepareReplay(opts);
    await suiteCommand(loaded, [loaded[0]!.file], oneRun(opts.runDir, { replay: input, cleanup: opts.keep ? 'never' : 'always' }));
  });

program.addCommand(explainCommand());

program
  .command('iptables')
  .description(
    "print the iptables-restore text istio-iptables would apply for its own flags, e.g. -- -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x \"\" -b '*' -d 15090,15021,15020",
  )
  .option('--istio <version>', 'Istio version whose rule shapes to use', '1.30')
  .argument('[flags...]', 'istio-iptables flags (after --)')
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
  // Commander has printed its message already; help and --version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  if (err instanceof ScenarioError) {
    console.error(err.message);
    process.exit(EXIT_USAGE);
  }
  console.error(`egress-lab: ${err.message}`);
  process.exit(EXIT_FAIL);
});

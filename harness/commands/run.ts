/**
 * `egress-lab scenario NAME...` (every step shown) and `egress-lab scenarios [PATTERN...]` (the
 * catalog or a selection, quiet on success), and runSuiteCommand, which import --record and replay
 * run through too: checks before anything is created, the suite, its output and the exit code.
 */
import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import type { LoadedScenario } from '../scenario/load.ts';
import type { ReplayInput } from '../lab/replaySidecar.ts';
import { ConsoleReporter, GroupedReporter, QuietReporter } from '../report/console.ts';
import { summarize, type SuiteResult } from '../report/suiteResult.ts';
import { DEFAULT_RETENTION, parseAge, pruneRuns } from '../run/retention.ts';
import type { CleanupMode } from '../run/runner.ts';
import { leftBehind, reportDirFor, runSuite, stopNow, type StopSignal, type SuiteReporter } from '../run/suite.ts';
import { SIDECAR_CHOICES, type SidecarChoice } from '../run/engines.ts';
import {
  BACKEND_CHOICES,
  BACKENDS,
  backendsFor,
  DEFAULT_BACKEND,
  liveRunPrefixes,
  type BackendChoice,
  type BackendEntry,
  type BackendName,
} from '../run/backends.ts';
import { callerPath, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_USAGE } from '../core/cliArgs.ts';
import { duration, positiveInt, repeatable, runDirOption } from './options.ts';
import { loadAll, selectFromCatalog } from './scenarioFiles.ts';
import { istioValidation } from './validate.ts';
import { printSeen, printTable, recordRuns } from './suiteOutput.ts';

export interface SuiteCliOptions {
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

function usage(message: string): never {
  console.error(`egress-lab: ${message}`);
  process.exit(EXIT_USAGE);
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

/** --dry-run: the command plan of each scenario on each chosen backend that has one, nothing run. */
function printCommandPlans(backends: BackendEntry[], loaded: LoadedScenario[], sidecar: SidecarChoice): void {
  const planned = backends.filter((b) => b.commandPlan);
  if (planned.length === 0) {
    const names = BACKENDS.filter((b) => b.commandPlan).map((b) => b.name);
    usage(`--dry-run prints the ${names.join(' and ')} backend's command plan; use it with --backend ${names.join(', ')} or both`);
  }
  for (const b of planned) {
    for (const l of loaded) {
      const skip = b.runsOf(l, sidecar).find((r) => r.skip)?.skip;
      console.log(`### ${l.scenario.name}${skip ? `: skipped on ${b.name}: ${skip}` : ''}`);
      if (!skip) process.stdout.write(b.commandPlan!(l));
    }
  }
}

/**
 * Each chosen backend that cannot run here: one the run cannot do without refuses it (exit 2,
 * nothing created); an optional one's runs are reported as skipped, with why.
 */
async function unavailableBackends(backends: BackendEntry[]): Promise<Partial<Record<BackendName, string>>> {
  const unavailable: Partial<Record<BackendName, string>> = {};
  for (const b of backends) {
    const why = await b.available();
    if (!why) continue;
    if (!b.skipWhenUnavailable) usage(why);
    console.log(`${b.name} backend: ${why}; ${b.name} runs are reported as skipped`);
    unavailable[b.name] = why;
  }
  return unavailable;
}

/** Removes run directories older than the retention (EGRESS_LAB_RETENTION); never those of a lab still up. */
async function applyRetention(runDir: string): Promise<void> {
  const retention = process.env.EGRESS_LAB_RETENTION ?? DEFAULT_RETENTION;
  if (retention === 'off') return;
  const pruned = pruneRuns(runDir, { olderThanMs: parseAge(retention), now: Date.now(), live: await liveRunPrefixes() });
  if (pruned.length > 0)
    console.log(
      `pruned ${pruned.length} run director${pruned.length === 1 ? 'y' : 'ies'} older than ${retention} from ${runDir} (EGRESS_LAB_RETENTION)`,
    );
}

/** Side by side, each scenario's output is held back and printed as one block. */
function reporterFor(opts: SuiteCliOptions): SuiteReporter | (() => SuiteReporter) {
  if (opts.jobs > 1) return () => (opts.verbose ? new GroupedReporter() : new QuietReporter());
  return opts.verbose ? new ConsoleReporter() : new QuietReporter();
}

/** The checks before anything is created: Istio's validation, the real parts, each backend's availability. */
async function checksBeforeRun(loaded: LoadedScenario[], backends: BackendEntry[], sidecar: SidecarChoice) {
  const refusals = backends.flatMap((b) => loaded.flatMap((l) => b.refusal?.(l, sidecar) ?? []));
  if (refusals.length > 0) {
    for (const r of refusals) console.error(r);
    process.exit(EXIT_USAGE);
  }
  const needsRealParts = backends.some((b) => loaded.some((l) => b.runsOf(l, sidecar).some((r) => r.needsRealParts)));
  const rejected = await istioValidation(loaded, needsRealParts);
  if (rejected.length > 0) {
    for (const e of rejected) console.error(e.message);
    process.exit(EXIT_USAGE);
  }
  return unavailableBackends(backends);
}

/** After an interrupt, said only once it is checked: every lab the run started is gone, cgroup and namespaces. */
async function exitInterrupted(result: SuiteResult, stop: StopSignal, reportDir: string): Promise<never> {
  const left = await leftBehind(stop);
  const what =
    left.length === 0
      ? 'the lab was removed, nothing is left behind'
      : `these were left behind: ${left.join(', ')} (npm run lab -- down --prefix <prefix>)`;
  console.error(`egress-lab: ${result.interrupted}: ${what}; partial reports are in ${reportDir}`);
  process.exit(EXIT_INTERRUPTED);
}

export async function runSuiteCommand(loaded: LoadedScenario[], selection: string[], opts: SuiteCliOptions): Promise<void> {
  const backends = backendsFor(opts.backend);
  if (opts.dryRun) return printCommandPlans(backends, loaded, opts.sidecar);
  const unavailable = await checksBeforeRun(loaded, backends, opts.sidecar);
  await applyRetention(opts.runDir);
  const reportDir = opts.reportDir ?? reportDirFor(opts.runDir);
  const stop: StopSignal = {};
  stopOnSignals(stop);
  const result = await runSuite(
    {
      scenarios: loaded,
      selection,
      backend: opts.backend,
      sidecar: opts.sidecar,
      unavailable,
      onComparison: (name, title, text) => console.log(`${title}, ${name}:\n${text}`),
      ...(opts.replay ? { replay: opts.replay } : {}),
      cleanup: opts.cleanup,
      repeat: opts.repeat,
      untilFail: opts.untilFail,
      timeoutMs: opts.timeout,
      jobs: opts.jobs,
      runDir: opts.runDir,
      reportDir,
      reporter: reporterFor(opts),
    },
    stop,
  );
  if (loaded.length > 1 || opts.repeat > 1) printTable(result);
  if (opts.record) recordRuns(loaded, result);
  if (opts.replay) printSeen(result);
  console.log(`reports: ${reportDir}/junit.xml, report.html, result.json, timings.json`);
  if (result.interrupted) await exitInterrupted(result, stop, reportDir);
  const sum = summarize(result);
  console.log(`${sum.passed} passed, ${sum.failed + sum.errors} failed`);
  process.exit(sum.failed + sum.errors > 0 ? EXIT_FAIL : 0);
}

/** One scenario once in the netns lab with the real sidecar, every step shown (import --record, replay). */
export function oneRun(runDir: string, extra: Partial<SuiteCliOptions>): SuiteCliOptions {
  return {
    backend: DEFAULT_BACKEND,
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

const cleanupOption = () =>
  new Option('--cleanup <mode>', 'remove labs always, only when the scenario passed, or never')
    .choices(['always', 'on-success', 'never'])
    .default('always');
const backendOption = () =>
  new Option('--backend <name>', `${BACKENDS.map((b) => `${b.name}: ${b.describe}`).join('; ')}; both: each, compared`)
    .choices([...BACKEND_CHOICES])
    .default(DEFAULT_BACKEND);
const sidecarOption = () =>
  new Option(
    '--sidecar <engine>',
    "the netns lab's sidecar: envoy (real Istio and Envoy), model (the TypeScript model; always for Istio 1.4-1.6), both (each, compared)",
  )
    .choices([...SIDECAR_CHOICES])
    .default('envoy');
const reportDirOption = () =>
  new Option('--report-dir <dir>', 'where the JUnit, JSON and HTML reports go (default: a new folder in the run dir)').argParser(
    callerPath,
  );
const jobsOption = (fallback: number) =>
  new Option('--jobs <n>', 'scenarios side by side (the netns lab only; kind runs one at a time)').argParser(positiveInt).default(fallback);
const timeoutOption = () =>
  new Option('--timeout <duration>', 'whole-run timeout, e.g. 30m or 90s (exit 130 when it runs out)').argParser(duration);
const dryRunOption = () =>
  new Option('--dry-run', "print the kind backend's command plan (with --backend kind|both) and run nothing").default(false);

export function scenarioCommand(): Command {
  return new Command('scenario')
    .description('run scenarios (by name from scenarios/, or a path) in the embedded netns lab, with every step shown')
    .argument('<names...>')
    .option('--keep', 'leave the lab up afterwards and print how to poke it (same as --cleanup never)', false)
    .addOption(cleanupOption())
    .addOption(runDirOption())
    .addOption(reportDirOption())
    .addOption(jobsOption(1))
    .addOption(timeoutOption())
    .addOption(backendOption())
    .addOption(sidecarOption())
    .addOption(dryRunOption())
    .option('--record', "write what the run saw into the scenario file as its expectations (replacing the probes' expect)", false)
    .action((names: string[], opts: SuiteCliOptions & { keep: boolean }) =>
      runSuiteCommand(loadAll(names), names, {
        ...opts,
        cleanup: opts.keep ? 'never' : opts.cleanup,
        repeat: 1,
        untilFail: false,
        verbose: true,
        tag: [],
      }),
    );
}

function scenariosAction(patterns: string[], opts: Omit<SuiteCliOptions, 'repeat'> & { repeat?: number }): Promise<void> {
  let selected: LoadedScenario[];
  try {
    selected = selectFromCatalog(patterns, opts.tag);
  } catch (err) {
    console.error(`egress-lab scenarios: ${(err as Error).message}`);
    process.exit(EXIT_USAGE);
  }
  if (selected.length === 0) {
    console.error('egress-lab scenarios: the selection is empty');
    process.exit(EXIT_USAGE);
  }
  const repeat = opts.repeat ?? (opts.untilFail ? 100 : 1);
  return runSuiteCommand(selected, [...patterns, ...opts.tag.map((t) => `tag:${t}`)], { ...opts, repeat });
}

export function scenariosCommand(): Command {
  return new Command('scenarios')
    .description('run the catalog or a selection: names or regexes, "!x" to exclude; quiet on success, full evidence on failure')
    .argument('[patterns...]', 'scenario names, regexes, !exclusions or paths to scenario files')
    .option('--tag <tag>', 'only scenarios with this tag ("!tag" excludes); repeatable', repeatable, [] as string[])
    .addOption(cleanupOption())
    .addOption(new Option('--repeat <n>', 'run the selection n times (flake hunting)').argParser(positiveInt))
    .option('--until-fail', 'repeat until an attempt fails (at most --repeat times, default 100)', false)
    .addOption(timeoutOption())
    .addOption(runDirOption())
    .addOption(reportDirOption())
    .addOption(jobsOption(availableParallelism()))
    .option('--verbose', 'print every step of every scenario, not only of failing ones', false)
    .addOption(backendOption())
    .addOption(sidecarOption())
    .addOption(dryRunOption())
    .action(scenariosAction);
}

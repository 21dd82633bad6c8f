/**
 * `egress-lab lab down|doctor|preload|status|prune`: what kept or crashed runs left behind, what
 * the kind backend needs, and old run directories.
 */
import { Command, Option } from 'commander';
import { execa } from 'execa';
import { labNamespaces } from '../lab/netns.ts';
import { sweep } from '../lab/sweep.ts';
import { LAB_PREFIX } from '../lab/topology.ts';
import { doctor, renderDoctor } from '../kind/doctor.ts';
import { deleteCommands, IMAGES, preloadCommands } from '../kind/clusterPlan.ts';
import { renderCommand } from '../kind/plan.ts';
import { DEFAULT_RETENTION, pruneRuns } from '../run/retention.ts';
import { BACKEND_NAMES, backendNamed, DEFAULT_BACKEND, liveRunPrefixes, type BackendName } from '../run/backends.ts';
import { EXIT_FAIL, EXIT_USAGE } from '../core/cliArgs.ts';
import { age, positiveInt, runDirOption, runPrefix } from './options.ts';

interface DownOptions {
  prefix?: string;
  all: boolean;
  backend: BackendName;
}

/** The netns lab: one run's processes (by cgroup), namespaces and /etc/netns entries, or every run's. */
async function downLabs(opts: DownOptions): Promise<void> {
  const netns = backendNamed('netns');
  const why = await netns.available();
  if (why) {
    console.error(`egress-lab: ${why}`);
    process.exit(EXIT_USAGE);
  }
  if (!opts.prefix && !opts.all) {
    // Sweeping everything would also kill runs in progress: say what is there and ask.
    const live = (await netns.liveRuns?.()) ?? [];
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
}

/** kind: the egress-lab cluster. */
async function deleteKindCluster(): Promise<void> {
  for (const c of deleteCommands()) {
    console.log(`$ ${renderCommand(c)}`);
    const r = await execa(c.program, c.args, { reject: false });
    if (r.exitCode !== 0) console.error(r.stderr || r.stdout);
  }
}

/** What `lab down` removes, per backend. */
const DOWN: Record<BackendName, (opts: DownOptions) => Promise<void>> = { netns: downLabs, kind: deleteKindCluster };

function downCommand(): Command {
  return new Command('down')
    .description("remove one run's lab (--prefix) or every lab (--all): its processes (by cgroup), namespaces, /etc/netns entries")
    .addOption(new Option('--prefix <prefix>', 'the run to remove, as it printed its prefix (egl-xxxxxx)').argParser(runPrefix))
    .option('--all', 'every lab on this host, including those of runs in progress', false)
    .addOption(
      new Option('--backend <name>', 'netns: lab namespaces; kind: delete the egress-lab kind cluster')
        .choices([...BACKEND_NAMES])
        .default(DEFAULT_BACKEND),
    )
    .action((opts: DownOptions) => DOWN[opts.backend](opts));
}

function doctorCommand(): Command {
  return new Command('doctor')
    .description('check what the kind backend needs: Docker engine, kind/kubectl/istioctl, disk, inotify limits')
    .action(async () => {
      const report = await doctor();
      process.stdout.write(renderDoctor(report));
      process.exit(report.checks.every((c) => c.ok) ? 0 : EXIT_FAIL);
    });
}

function preloadCommand(): Command {
  return new Command('preload')
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
}

function statusCommand(): Command {
  return new Command('status').description('list lab namespaces that exist').action(async () => {
    const names = await labNamespaces(LAB_PREFIX);
    console.log(names.length ? names.join('\n') : 'no lab namespaces');
  });
}

async function pruneAction(opts: { keep?: number; olderThan?: number; runDir: string }): Promise<void> {
  if (opts.keep === undefined && opts.olderThan === undefined) {
    console.error('egress-lab lab prune: say what to keep: --keep N or --older-than AGE');
    process.exit(EXIT_USAGE);
  }
  const removed = pruneRuns(opts.runDir, { keep: opts.keep, olderThanMs: opts.olderThan, now: Date.now(), live: await liveRunPrefixes() });
  console.log(
    removed.length
      ? `removed ${removed.length} from ${opts.runDir}:\n${removed.map((r) => `  ${r}`).join('\n')}`
      : `nothing to remove in ${opts.runDir}`,
  );
}

function pruneCommand(): Command {
  return new Command('prune')
    .description(
      `remove old run and report directories (a run also removes those older than EGRESS_LAB_RETENTION, default ${DEFAULT_RETENTION})`,
    )
    .addOption(new Option('--keep <n>', 'keep the newest n').argParser(positiveInt))
    .addOption(new Option('--older-than <age>', 'remove those older than this, e.g. 7d, 12h').argParser(age))
    .addOption(runDirOption())
    .action(pruneAction);
}

export function labCommand(): Command {
  return new Command('lab')
    .description('manage lab objects left by kept or crashed runs')
    .addCommand(downCommand())
    .addCommand(doctorCommand())
    .addCommand(preloadCommand())
    .addCommand(statusCommand())
    .addCommand(pruneCommand());
}

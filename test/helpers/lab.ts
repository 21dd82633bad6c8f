/** Shared pieces of the lab tests (test/lab, test/stress): root check, a reporter that records lines, leak checks. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleReporter } from '../../harness/report/console.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../../harness/lab/netnsBackend.ts';
import { labCgroups } from '../../harness/proc/cgroup.ts';
import { runScenario, type ScenarioOutcome } from '../../harness/run/runner.ts';
import { enginesFor } from '../../harness/run/engines.ts';
import type { SidecarEngine } from '../../harness/lab/sidecars.ts';
import { RunDirectoryEvidence } from '../../harness/report/evidenceFiles.ts';

export const isRoot = process.getuid?.() === 0;
export const SKIP_REASON = 'lab tests need root (network namespaces, iptables); skipped';

export function recordingReporter(): { reporter: ConsoleReporter; lines: string[] } {
  const lines: string[] = [];
  return { reporter: new ConsoleReporter((l) => lines.push(l)), lines };
}

// The sidecar runs as uid 1337 and must reach its run directory: mkdtemp's 0700 would lock it out.
export const runsDir = mkdtempSync(join(tmpdir(), 'egress-lab-test-'));
chmodSync(runsDir, 0o755);

/** Runs a scenario as `npm run scenario` would: on real Istio, or on the model for the seed era (or when asked). */
export async function runInLab(
  nameOrPath: string,
  engine?: SidecarEngine,
): Promise<{ outcome: ScenarioOutcome; output: string; prefix: string }> {
  const loaded = loadScenarioFile(nameOrPath);
  const { reporter, lines } = recordingReporter();
  const prefix = newRunPrefix();
  const runDir = join(runsDir, `${loaded.scenario.name}-${prefix}`);
  const chosen = engine ?? enginesFor(loaded, 'envoy').engines[0]!;
  const outcome = await runScenario(loaded, new NetnsBackend(loaded, runDir, prefix, { engine: chosen }), {
    cleanup: 'always',
    runDir,
    reporter,
    evidence: new RunDirectoryEvidence(runDir),
  });
  return { outcome, output: lines.join('\n'), prefix };
}

/** Namespaces of one run (or of any run with the bare lab prefix) that still exist. */
export function leftoverNamespaces(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/**
 * What a run left running: its cgroup (every process of a run is born in it), and any process whose
 * command line names the run directory or prefix or whose working directory lies inside the run
 * directory (pilot-agent and Envoy run from their pod's root there, with relative paths).
 */
export function leftoverProcesses(prefix: string, runDir: string): string[] {
  const found = labCgroups(prefix).map((c) => `cgroup ${c} still exists`);
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cmd === '' || cmd.includes('pgrep')) continue;
      if (cmd.includes(runDir) || cmd.includes(prefix) || cwd.startsWith(runDir)) found.push(`${pid} ${cmd} (cwd ${cwd})`);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

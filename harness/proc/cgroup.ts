/**
 * Process ownership the kernel enforces: every process a run starts (servers, sidecars, probe
 * agents, the control plane, pilot-agent and the Envoy it forks) is placed in a cgroup v2 named by
 * the run prefix, so teardown, `lab down` and a crash sweep kill by cgroup (`cgroup.kill`, Linux
 * 5.14+) instead of by bookkeeping. A process cannot leave its cgroup by daemonizing, re-parenting
 * to init or outliving its network namespace, which is how bookkeeping loses track of them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup v2 mount: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function cgroup2Root(mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw"
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left?.split(' ')[4];
  }
  return undefined;
}

export class RunCgroup {
  private constructor(readonly path: string) {}

  /** Creates the run's cgroup; fails with what to do when the host has no usable cgroup v2. */
  static create(prefix: string, root = cgroup2Root()): RunCgroup {
    if (!root) throw new Error('no cgroup v2 hierarchy is mounted (see /proc/self/mountinfo); the lab needs one to own its processes');
    const path = join(root, prefix);
    mkdirSync(path, { recursive: true });
    if (!existsSync(join(path, 'cgroup.kill'))) {
      rmdirSync(path);
      throw new Error(`${root} has no cgroup.kill (Linux 5.14 or newer is needed to kill a run's processes reliably)`);
    }
    return new RunCgroup(path);
  }

  /**
   * An argv that first moves itself into this cgroup, then becomes `argv`: everything it starts,
   * down to Envoy, is born inside. A plain shell does the move because Node cannot spawn into a
   * cgroup, and writing the pid after spawn would race with the child's own forks.
   */
  wrap(argv: string[]): string[] {
    return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.path, ...argv];
  }

  pids(): number[] {
    return cgroupPids(this.path);
  }

  /** SIGKILLs every process in the cgroup now, without waiting (set-up may still add more). */
  killAll(): void {
    if (existsSync(this.path)) writeFileSync(join(this.path, 'cgroup.kill'), '1');
  }

  /** Kills every process in the cgroup and removes it. */
  async destroy(): Promise<void> {
    await killCgroup(this.path);
  }
}

function cgroupPids(path: string): number[] {
  if (!existsSync(join(path, 'cgroup.procs'))) return [];
  return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

/** `cgroup.kill` SIGKILLs the whole subtree at once; the directory can go when it is empty. */
async function killCgroup(path: string, timeoutMs = 5000): Promise<void> {
  if (!existsSync(path)) return;
  writeFileSync(join(path, 'cgroup.kill'), '1');
  const deadline = Date.now() + timeoutMs;
  while (cgroupPids(path).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes ${cgroupPids(path).join(' ')} of cgroup ${path} survived cgroup.kill`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // rmdir can briefly fail with EBUSY while the kernel finishes reaping.
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The cgroups of runs whose prefix starts with `prefix` (a crash leaves them behind). */
export function labCgroups(prefix: string, root = cgroup2Root()): string[] {
  if (!root || !existsSync(root)) return [];
  return readdirSync(root).filter((d) => d.startsWith(prefix));
}

/** Kills and removes every cgroup of `prefix`; returns their names. */
export async function sweepCgroups(prefix: string, root = cgroup2Root()): Promise<string[]> {
  const found = labCgroups(prefix, root);
  for (const name of found) await killCgroup(join(root!, name));
  return found;
}

/**
 * `lab doctor`: what the kind backend needs from this machine, checked one by one, each failure
 * with the command that fixes it. Doctor only looks: it never starts Docker, downloads a tool or
 * changes a sysctl. Every probe is an injectable function so the checks can be tested on recorded
 * outputs of the real commands.
 */
import { existsSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { defaultCacheDir, findTool, TOOL_NAMES, TOOLS, type ResolvedTool, type ToolName } from './tools.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
}

export interface CommandOutput {
  /** undefined when the program could not be started at all. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface DoctorProbes {
  /** `docker info --format '{{.ServerVersion}}'` */
  dockerInfo(): Promise<CommandOutput>;
  /** `docker info --format '{{.DockerRootDir}}'`; only asked once the engine answered. */
  dockerRootDir(): Promise<string | undefined>;
  /** The tool from PATH or the cache, never downloading; notes say why PATH's was passed over. */
  findTool(name: ToolName): Promise<{ found?: ResolvedTool; notes: string[] }>;
  /** Bytes an unprivileged user may still write on the filesystem holding `path`. */
  freeBytes(path: string): Promise<number>;
  /** A /proc or /sys file, undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
}

/** kind's known-issues page ("Pod errors due to too many open files") recommends these. */
export const INOTIFY_MIN = { max_user_watches: 524288, max_user_instances: 512 } as const;
/**
 * Assumed need: kindest/node (~1 GiB pulled, more unpacked), istio pilot + proxyv2 (~0.4 GiB), the
 * client and server images, and a second copy of the preloaded ones inside the node's containerd.
 */
export const DISK_NEEDED_BYTES = 4 * 1024 ** 3;

export function realProbes(cacheDir: string): DoctorProbes {
  return {
    dockerInfo: async () => {
      const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 20_000 });
      // A missing docker CLI has no stderr of its own: execa's message says ENOENT instead.
      const spawnError = r.exitCode === undefined ? (r.message ?? '') : '';
      return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') || spawnError };
    },
    dockerRootDir: async () => {
      const r = await execa('docker', ['info', '--format', '{{.DockerRootDir}}'], { reject: false, timeout: 20_000 });
      return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
    },
    findTool: async (name) => {
      const notes: string[] = [];
      const found = await findTool(name, { cacheDir, log: (l) => notes.push(l) });
      return found ? { found, notes } : { notes };
    },
    freeBytes: async (path) => {
      const s = await statfs(path);
      return s.bavail * s.bsize;
    },
    readFile: async (path) => (existsSync(path) ? readFile(path, 'utf8') : undefined),
  };
}

export async function doctor(opts: { probes?: Partial<DoctorProbes>; cacheDir?: string } = {}): Promise<DoctorReport> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const p: DoctorProbes = { ...realProbes(cacheDir), ...opts.probes };
  const engine = await engineCheck(p);
  const tools = await Promise.all(TOOL_NAMES.map((n) => toolCheck(p, n, cacheDir)));
  const rootDir = engine.ok ? await p.dockerRootDir() : undefined;
  const checks = [engine, ...tools, await diskCheck(p, rootDir, cacheDir), await inotifyCheck(p), await cgroupCheck(p)];
  return { checks };
}

async function engineCheck(p: DoctorProbes): Promise<DoctorCheck> {
  const name = 'Docker engine';
  const r = await p.dockerInfo();
  const version = r.stdout.trim();
  if (r.exitCode === 0 && version) return { name, ok: true, detail: `server ${version}` };
  const error = (r.stderr.trim() || r.stdout.trim() || `docker info exited ${r.exitCode}`).split('\n')[0]!;
  const where = process.env.DOCKER_HOST ? ` (DOCKER_HOST=${process.env.DOCKER_HOST})` : '';
  return {
    name,
    ok: false,
    detail: `docker info failed${where}: ${error}`,
    fix:
      r.exitCode === undefined
        ? 'install Docker Engine (the docker CLI is not on PATH), start Docker / set DOCKER_HOST'
        : 'start Docker / set DOCKER_HOST to a reachable engine (kind runs its node as a Docker container)',
  };
}

async function toolCheck(p: DoctorProbes, name: ToolName, cacheDir: string): Promise<DoctorCheck> {
  const { found, notes } = await p.findTool(name);
  const label = `${name} ${TOOLS[name].version}`;
  const why = notes.length ? ` (${notes.join('; ')})` : '';
  if (found) return { name: label, ok: true, detail: `${found.path} from ${found.source}, reports ${found.version}${why}` };
  // Not a problem: resolveTool fetches and verifies it on first use.
  return { name: label, ok: true, detail: `will be downloaded into ${cacheDir} on first use${why}` };
}

/** The nearest existing directory at or above `path` (the cache may not exist yet). */
function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

async function diskCheck(p: DoctorProbes, rootDir: string | undefined, cacheDir: string): Promise<DoctorCheck> {
  const name = 'free disk';
  // A remote engine's root dir is not on this filesystem; then the cache dir is all we can measure.
  const local = rootDir && existsSync(rootDir) ? rootDir : undefined;
  const path = local ?? existingAncestor(cacheDir);
  const what = local
    ? 'the Docker root dir'
    : `the tools cache${rootDir ? `; Docker root dir ${rootDir} is not on this machine` : '; Docker root dir unknown without an engine'}`;
  const assumed = 'assumed need about 4 GiB: kindest/node, istio pilot + proxyv2, client and server images, and their copies in the node';
  let free: number;
  try {
    free = await p.freeBytes(path);
  } catch (e) {
    return { name, ok: false, detail: `cannot statfs ${path}: ${(e as Error).message}` };
  }
  const gib = (free / 1024 ** 3).toFixed(1);
  const detail = `${gib} GiB free in ${path} (${what}); ${assumed}`;
  if (free >= DISK_NEEDED_BYTES) return { name, ok: true, detail };
  return { name, ok: false, detail, fix: `free space on the filesystem of ${path} (docker system prune removes unused images)` };
}

async function inotifyCheck(p: DoctorProbes): Promise<DoctorCheck> {
  const name = 'inotify limits';
  const low: string[] = [];
  const seen: string[] = [];
  for (const [key, min] of Object.entries(INOTIFY_MIN)) {
    const text = await p.readFile(`/proc/sys/fs/inotify/${key}`);
    const value = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
    seen.push(`${key}=${Number.isNaN(value) ? 'unreadable' : value}`);
    if (!(value >= min)) low.push(`fs.inotify.${key}=${min}`);
  }
  const detail = `${seen.join(', ')} (kind recommends max_user_watches >= ${INOTIFY_MIN.max_user_watches}, max_user_instances >= ${INOTIFY_MIN.max_user_instances})`;
  if (!low.length) return { name, ok: true, detail };
  const fix = [
    ...low.map((s) => `sudo sysctl -w ${s}`),
    `(to keep across reboots, put ${low.map((s) => `"${s.replace('=', ' = ')}"`).join(' and ')} in /etc/sysctl.d/99-kind.conf)`,
  ].join('\n');
  return { name, ok: false, detail, fix };
}

async function cgroupCheck(p: DoctorProbes): Promise<DoctorCheck> {
  const name = 'cgroup v2';
  const controllers = await p.readFile('/sys/fs/cgroup/cgroup.controllers');
  if (controllers !== undefined)
    return { name, ok: true, detail: `unified hierarchy, controllers: ${controllers.trim() || '(none delegated)'}` };
  return {
    name,
    ok: false,
    // kubelet 1.35+ refuses cgroup v1 by default (failCgroupV1), and the pinned node runs 1.36.
    detail:
      '/sys/fs/cgroup/cgroup.controllers is missing: this host uses cgroup v1, which kubelet 1.36 in the kind node refuses by default',
    fix: 'boot the Docker host with cgroup v2 (kernel parameter systemd.unified_cgroup_hierarchy=1), or point DOCKER_HOST at an engine that has it',
  };
}

export function renderDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(...c.fix.split('\n').map((l) => `    fix: ${l}`));
  }
  const problems = report.checks.filter((c) => !c.ok).length;
  lines.push(problems === 0 ? 'ready for --backend kind' : `not ready: ${problems} problem${problems === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

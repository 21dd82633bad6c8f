/**
 * The three CLIs the kind backend drives, at pinned versions: kind,
 * kubectl and istioctl. A tool is taken from PATH when it reports the pinned version, else from a
 * per-version cache directory, else downloaded once into that cache from its release, checked
 * against the checksum file published next to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { ISTIO_VERSION } from './plan.ts';

export type ToolName = 'kind' | 'kubectl' | 'istioctl';
export type Arch = 'amd64' | 'arm64';

export interface ToolSpec {
  name: ToolName;
  /** The version string exactly as the tool reports it. */
  version: string;
  /** Release URL of the binary, or of the archive that holds it. */
  url(arch: Arch): string;
  /** The checksum file published beside it. */
  checksumUrl(arch: Arch): string;
  /** Set when the release is a .tar.gz: the member to extract. */
  archiveMember?: string;
  /** Arguments that make the tool print its own version without talking to a cluster. */
  versionArgs: string[];
  /** The version in that output, or undefined when it has none. */
  parseVersion(output: string): string | undefined;
}

const KIND = 'v0.32.0';
const KUBECTL = 'v1.36.1';
const ISTIOCTL = ISTIO_VERSION;

const kindUrl = (a: Arch) => `https://kind.sigs.k8s.io/dl/${KIND}/kind-linux-${a}`;
const kubectlUrl = (a: Arch) => `https://dl.k8s.io/release/${KUBECTL}/bin/linux/${a}/kubectl`;
const istioctlUrl = (a: Arch) => `https://github.com/istio/istio/releases/download/${ISTIOCTL}/istioctl-${ISTIOCTL}-linux-${a}.tar.gz`;

export const TOOLS: Record<ToolName, ToolSpec> = {
  kind: {
    name: 'kind',
    version: KIND,
    url: kindUrl,
    checksumUrl: (a) => `${kindUrl(a)}.sha256sum`,
    versionArgs: ['version'],
    // "kind v0.32.0 go1.24.4 linux/amd64"
    parseVersion: (out) => /^kind (v\d+\.\d+\.\d+\S*)/m.exec(out)?.[1],
  },
  kubectl: {
    name: 'kubectl',
    version: KUBECTL,
    url: kubectlUrl,
    checksumUrl: (a) => `${kubectlUrl(a)}.sha256`,
    versionArgs: ['version', '--client', '-o', 'json'],
    parseVersion: (out) => {
      try {
        const v = (JSON.parse(out) as { clientVersion?: { gitVersion?: unknown } }).clientVersion?.gitVersion;
        return typeof v === 'string' ? v : undefined;
      } catch {
        return undefined;
      }
    },
  },
  istioctl: {
    name: 'istioctl',
    version: ISTIOCTL,
    url: istioctlUrl,
    checksumUrl: (a) => `${istioctlUrl(a)}.sha256`,
    archiveMember: 'istioctl',
    versionArgs: ['version', '--remote=false'],
    // Older releases print the bare "1.30.3", newer ones "client version: 1.30.3".
    parseVersion: (out) => /^(?:client version:\s*)?(\d+\.\d+\.\d+\S*)\s*$/m.exec(out)?.[1],
  },
};

export const TOOL_NAMES = Object.keys(TOOLS) as ToolName[];

export type Log = (line: string) => void;

export interface ResolvedTool {
  path: string;
  source: 'path' | 'cache' | 'download';
  version: string;
}

export interface ResolveOptions {
  cacheDir: string;
  /** Replaces scheme+host of every release URL (tests; users with a mirror set EGRESS_LAB_TOOLS_MIRROR). */
  baseUrlOverride?: string;
  allowDownload: boolean;
  log: Log;
}

/** Where downloaded tools live unless the caller says otherwise. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'egress-lab', 'tools');
}

/** The release architecture of this machine; the tools only ship for Linux amd64/arm64. */
export function hostArch(): Arch {
  if (process.platform !== 'linux') throw new Error(`the kind backend's tools are pinned for Linux only, not ${process.platform}`);
  if (process.arch === 'x64') return 'amd64';
  if (process.arch === 'arm64') return 'arm64';
  throw new Error(`no pinned release of kind/kubectl/istioctl for CPU architecture ${process.arch}`);
}

export function cachedToolPath(name: ToolName, cacheDir: string): string {
  return join(cacheDir, `${name}-${TOOLS[name].version}`, name);
}

/** Points a release URL at a mirror: same path, other scheme+host (and optional path prefix). */
export function mirrored(url: string, base: string | undefined): string {
  if (!base) return url;
  return base.replace(/\/+$/, '') + new URL(url).pathname;
}

export interface ToolDownload {
  name: ToolName;
  version: string;
  url: string;
  checksumUrl: string;
  /** Where the verified binary ends up. */
  target: string;
}

/** The URLs resolveTool would fetch for each tool, for --dry-run (it fetches only what is missing). */
export function toolDownloadPlan(opts: { cacheDir: string; baseUrlOverride?: string; arch?: Arch; names?: ToolName[] }): ToolDownload[] {
  const arch = opts.arch ?? hostArch();
  const base = opts.baseUrlOverride ?? process.env.EGRESS_LAB_TOOLS_MIRROR;
  return (opts.names ?? TOOL_NAMES).map((name) => ({
    name,
    version: TOOLS[name].version,
    url: mirrored(TOOLS[name].url(arch), base),
    checksumUrl: mirrored(TOOLS[name].checksumUrl(arch), base),
    target: cachedToolPath(name, opts.cacheDir),
  }));
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH, like `command -v`. */
async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

/** What the binary says its version is (undefined when it does not run or prints no version). */
export async function reportedVersion(name: ToolName, path: string): Promise<string | undefined> {
  const r = await execa(path, TOOLS[name].versionArgs, { reject: false, timeout: 20_000 });
  // stdout alone first: kubectl's JSON is on stdout and a warning on stderr would break it; a tool
  // that prints its version on stderr only is read from there.
  return TOOLS[name].parseVersion(r.stdout) ?? TOOLS[name].parseVersion(r.stderr);
}

/**
 * The tool without downloading: PATH when its version is the pin, else the cache. `notes` says why
 * a binary on PATH was passed over.
 */
export async function findTool(name: ToolName, opts: { cacheDir: string; log: Log }): Promise<ResolvedTool | undefined> {
  const pin = TOOLS[name].version;
  const fromPath = await onPath(name);
  if (fromPath) {
    const v = await reportedVersion(name, fromPath);
    if (v === pin) return { path: fromPath, source: 'path', version: v };
    opts.log(`${name} on PATH (${fromPath}) reports ${v ?? 'no version'}, not the pinned ${pin}; not using it`);
  }
  const cached = cachedToolPath(name, opts.cacheDir);
  // Only verified binaries are ever renamed into place, so a file there is trusted as the pin.
  if (await isExecutable(cached)) return { path: cached, source: 'cache', version: pin };
  return undefined;
}

export async function resolveTool(name: ToolName, opts: ResolveOptions): Promise<ResolvedTool> {
  const notes: string[] = [];
  const log: Log = (line) => {
    notes.push(line);
    opts.log(line);
  };
  const found = await findTool(name, { cacheDir: opts.cacheDir, log });
  if (found) return found;
  const target = cachedToolPath(name, opts.cacheDir);
  if (!opts.allowDownload) {
    throw new Error(`${name} ${TOOLS[name].version} not found (${[...notes, `no ${target}`].join('; ')}) and downloading is not allowed`);
  }
  const [plan] = toolDownloadPlan({ cacheDir: opts.cacheDir, baseUrlOverride: opts.baseUrlOverride, names: [name] });
  await download(plan!, TOOLS[name], log);
  return { path: target, source: 'download', version: TOOLS[name].version };
}

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The digest in a .sha256 / .sha256sum file: either "<hex>" or "<hex>  <file name>". */
export function parseChecksumFile(text: string, url: string): string {
  const hex = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${url} does not hold a sha256 digest: ${JSON.stringify(text.slice(0, 100))}`);
  return hex;
}

/** Fetch, verify, then place: nothing touches the cache until the digest matches. */
async function download(plan: ToolDownload, spec: ToolSpec, log: Log): Promise<void> {
  log(`downloading ${spec.name} ${spec.version} from ${plan.url}`);
  const [body, sums] = await Promise.all([fetchBytes(plan.url), fetchBytes(plan.checksumUrl)]);
  const expected = parseChecksumFile(sums.toString('utf8'), plan.checksumUrl);
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== expected) {
    throw new Error(
      `checksum mismatch for ${plan.url}: expected sha256 ${expected} (from ${plan.checksumUrl}), got ${actual}; refusing to install it`,
    );
  }
  const dir = dirname(plan.target);
  await mkdir(dir, { recursive: true });
  // A scratch dir beside the target keeps the final rename on one filesystem, hence atomic.
  const scratch = await mkdtemp(join(dir, '.partial-'));
  try {
    const binary = spec.archiveMember ? await extract(body, spec.archiveMember, scratch) : join(scratch, spec.name);
    if (!spec.archiveMember) await writeFile(binary, body);
    await chmod(binary, 0o755);
    await rename(binary, plan.target);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  log(`${spec.name} ${spec.version} verified (sha256 ${actual}) and cached at ${plan.target}`);
}

/** Unpacks one member of a .tar.gz with tar(1); istioctl's tarball holds just the binary. */
async function extract(archive: Buffer, member: string, scratch: string): Promise<string> {
  const file = join(scratch, `archive-${randomBytes(4).toString('hex')}.tar.gz`);
  await writeFile(file, archive);
  const out = join(scratch, 'x');
  await mkdir(out);
  await execa('tar', ['-xzf', file, '-C', out, member]);
  const binary = join(out, member);
  if (!existsSync(binary)) throw new Error(`${member} not found in the downloaded archive`);
  // Fail here on an empty member rather than caching a useless file.
  if ((await stat(binary)).size === 0) throw new Error(`${member} in the downloaded archive is empty`);
  return binary;
}

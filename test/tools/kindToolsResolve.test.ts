// The kind backend's pinned CLIs: downloads from a local 127.0.0.1 "release server" (fake binaries
// with their real sha256 files), the cache, checksum refusal, and PATH lookup by reported version.
// PATH is per process and these tests change it, so they run serially.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedToolPath, hostArch, reportedVersion, resolveTool, TOOLS, type ToolName } from '../../harness/kind/tools.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-tools-'));
const files = new Map<string, Buffer>();
const requests: string[] = [];
let server: Server;
let base = '';
const originalPath = process.env.PATH;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const script = (out: string) => Buffer.from(`#!/bin/sh\ncat <<'EOF'\n${out}\nEOF\n`);
const pathOf = (url: string) => new URL(url).pathname;

/** Publishes a release file and its checksum file (or a given checksum text) on the local server. */
function publish(name: ToolName, body: Buffer, checksumText?: string): void {
  const arch = hostArch();
  files.set(pathOf(TOOLS[name].url(arch)), body);
  const file = pathOf(TOOLS[name].url(arch)).split('/').pop();
  files.set(pathOf(TOOLS[name].checksumUrl(arch)), Buffer.from(checksumText ?? `${sha256(body)}  ${file}\n`));
}

/** A PATH holding only a fresh directory (plus the system dirs tar and sh live in). */
function isolatedPath(): string {
  const bin = mkdtempSync(join(tmp, 'bin-'));
  process.env.PATH = `${bin}:/usr/bin:/bin`;
  return bin;
}

function fakeOnPath(bin: string, name: string, output: string): string {
  const p = join(bin, name);
  writeFileSync(p, script(output), { mode: 0o755 });
  return p;
}

test.before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after.always(() => {
  server?.close();
  process.env.PATH = originalPath;
  rmSync(tmp, { recursive: true, force: true });
});

test.serial('kind is downloaded once, verified against its .sha256sum, made executable, then served from the cache', async (t) => {
  isolatedPath();
  publish('kind', script('kind v0.32.0 go1.24 linux/amd64'));
  const cacheDir = mkdtempSync(join(tmp, 'cache-'));
  const lines: string[] = [];
  const first = await resolveTool('kind', { cacheDir, baseUrlOverride: base, allowDownload: true, log: (l) => lines.push(l) });
  t.deepEqual(first, { path: cachedToolPath('kind', cacheDir), source: 'download', version: 'v0.32.0' });
  t.is(first.path, join(cacheDir, 'kind-v0.32.0', 'kind'));
  t.notThrows(() => accessSync(first.path, constants.X_OK));
  t.is(execFileSync(first.path, ['version'], { encoding: 'utf8' }).trim(), 'kind v0.32.0 go1.24 linux/amd64');
  t.deepEqual(
    requests.filter((r) => r.includes('kind')).sort(),
    [pathOf(TOOLS.kind.url(hostArch())), pathOf(TOOLS.kind.checksumUrl(hostArch()))].sort(),
  );
  t.true(lines.some((l) => l.includes('verified')));
  // Only the binary: the scratch directory of the download is gone.
  t.deepEqual(readdirSync(join(cacheDir, 'kind-v0.32.0')), ['kind']);

  const before = requests.length;
  const second = await resolveTool('kind', { cacheDir, baseUrlOverride: 'http://127.0.0.1:1', allowDownload: false, log: () => {} });
  t.deepEqual(second, { path: first.path, source: 'cache', version: 'v0.32.0' });
  t.is(requests.length, before, 'the cache hit made no request');
});

test.serial('a checksum mismatch is refused with the URL and both digests, leaving nothing in the cache', async (t) => {
  isolatedPath();
  const body = script('{"clientVersion":{"gitVersion":"v1.36.1"}}');
  const wrong = 'ab'.repeat(32);
  publish('kubectl', body, `${wrong}\n`);
  const cacheDir = mkdtempSync(join(tmp, 'cache-'));
  const err = await t.throwsAsync(resolveTool('kubectl', { cacheDir, baseUrlOverride: base, allowDownload: true, log: () => {} }));
  t.regex(err.message, /checksum mismatch/);
  t.true(err.message.includes(`${base}${pathOf(TOOLS.kubectl.url(hostArch()))}`), err.message);
  t.true(err.message.includes(`expected sha256 ${wrong}`), err.message);
  t.true(err.message.includes(`got ${sha256(body)}`), err.message);
  t.deepEqual(readdirSync(cacheDir), []);
});

test.serial('istioctl is extracted from its release tarball after the archive digest matches', async (t) => {
  isolatedPath();
  const src = mkdtempSync(join(tmp, 'tar-'));
  writeFileSync(join(src, 'istioctl'), script('client version: 1.31.0'), { mode: 0o755 });
  const archive = join(tmp, 'istioctl.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', src, 'istioctl']);
  publish('istioctl', readFileSync(archive));
  const cacheDir = mkdtempSync(join(tmp, 'cache-'));
  const r = await resolveTool('istioctl', { cacheDir, baseUrlOverride: base, allowDownload: true, log: () => {} });
  t.is(r.source, 'download');
  t.is(r.path, join(cacheDir, 'istioctl-1.31.0', 'istioctl'));
  t.is(statSync(r.path).mode & 0o111, 0o111);
  t.is(await reportedVersion('istioctl', r.path), '1.31.0');
  t.deepEqual(readdirSync(join(cacheDir, 'istioctl-1.31.0')), ['istioctl']);
});

test.serial('a tool on PATH that reports the pinned version is used from there', async (t) => {
  const bin = isolatedPath();
  const fake = fakeOnPath(bin, 'kubectl', '{"clientVersion":{"major":"1","minor":"36","gitVersion":"v1.36.1","platform":"linux/amd64"}}');
  const cacheDir = mkdtempSync(join(tmp, 'cache-'));
  const r = await resolveTool('kubectl', { cacheDir, allowDownload: false, log: () => {} });
  t.deepEqual(r, { path: fake, source: 'path', version: 'v1.36.1' });
});

test.serial('a tool on PATH with another version is passed over, and the reason is given', async (t) => {
  const bin = isolatedPath();
  fakeOnPath(bin, 'kind', 'kind v0.31.0 go1.24 linux/amd64');
  const cacheDir = mkdtempSync(join(tmp, 'cache-'));
  const lines: string[] = [];
  const err = await t.throwsAsync(resolveTool('kind', { cacheDir, allowDownload: false, log: (l) => lines.push(l) }));
  t.regex(err.message, /reports v0\.31\.0, not the pinned v0\.32\.0/);
  t.regex(err.message, /downloading is not allowed/);
  t.true(
    lines.some((l) => l.includes(`${join(bin, 'kind')}) reports v0.31.0`)),
    lines.join('\n'),
  );

  // With the pinned version in the cache, that one is used instead.
  mkdirSync(join(cacheDir, 'kind-v0.32.0'));
  writeFileSync(join(cacheDir, 'kind-v0.32.0', 'kind'), script('kind v0.32.0 go1.24 linux/amd64'), { mode: 0o755 });
  const r = await resolveTool('kind', { cacheDir, allowDownload: false, log: () => {} });
  t.is(r.source, 'cache');
  t.is(r.path, join(cacheDir, 'kind-v0.32.0', 'kind'));
});

test("a tool's version is read from its stdout: a warning on stderr does not break kubectl's JSON", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-kubectl-'));
  const fake = join(dir, 'kubectl');
  writeFileSync(
    fake,
    `#!/bin/sh\necho '{"clientVersion":{"gitVersion":"v1.36.1"}}'\necho 'W1203 08:00:00 warnings.go:70] a deprecation warning' >&2\n`,
  );
  chmodSync(fake, 0o755);
  t.is(await reportedVersion('kubectl', fake), 'v1.36.1');
});

// The kind backend's machine checks (doctor, fed real command outputs as fixtures, and once with the
// real probes on this machine) and its cluster-level command plan.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { doctor, renderDoctor, type DoctorProbes } from '../../harness/kind/doctor.ts';
import { clusterCommands, deleteCommands, IMAGES, istioInstallCommands, preloadCommands } from '../../harness/kind/clusterPlan.ts';
import { renderCommand } from '../../harness/kind/plan.ts';
import type { ToolName } from '../../harness/kind/tools.ts';
import { HTTPBIN_IMAGE } from '../../harness/servers/images.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const NO_DAEMON = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';
const NODE_IMAGE = 'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5';
// Not "egl-": that prefix marks lab objects, which lab down sweeps.
const existingDir = mkdtempSync(join(tmpdir(), 'egress-lab-doctor-'));
const doctorCache = mkdtempSync(join(tmpdir(), 'egress-lab-doctor-cache-'));
test.after.always(() => {
  rmSync(existingDir, { recursive: true, force: true });
  rmSync(doctorCache, { recursive: true, force: true });
});

/** A machine where everything is in order; each test breaks one thing. */
function healthy(): DoctorProbes {
  const sysfs: Record<string, string> = {
    '/proc/sys/fs/inotify/max_user_watches': '524288\n',
    '/proc/sys/fs/inotify/max_user_instances': '512\n',
    '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
  };
  return {
    dockerInfo: async () => ({ exitCode: 0, stdout: '29.4.0\n', stderr: '' }),
    dockerRootDir: async () => existingDir,
    findTool: async (name: ToolName) => ({ found: { path: `/usr/local/bin/${name}`, source: 'path', version: 'pinned' }, notes: [] }),
    freeBytes: async () => 50 * 1024 ** 3,
    readFile: async (p) => sysfs[p],
  };
}

test('doctor: everything in order → every check passes and the verdict says ready', async (t) => {
  const report = await doctor({ probes: healthy(), cacheDir: '/nonexistent/cache' });
  t.deepEqual(
    report.checks.map((c) => c.name),
    ['Docker engine', 'kind v0.32.0', 'kubectl v1.36.1', 'istioctl 1.31.0', 'free disk', 'inotify limits', 'cgroup v2'],
  );
  t.true(
    report.checks.every((c) => c.ok),
    renderDoctor(report),
  );
  t.regex(report.checks[0]!.detail, /server 29\.4\.0/);
  t.true(report.checks.find((c) => c.name === 'free disk')!.detail.includes(`${existingDir} (the Docker root dir)`));
  const text = renderDoctor(report);
  t.is(text.trimEnd().split('\n').pop(), 'ready for --backend kind');
  t.false(text.includes('✘'));
});

test('doctor: no engine → the daemon error, the fix, and disk measured in the cache dir instead', async (t) => {
  const report = await doctor({
    probes: { ...healthy(), dockerInfo: async () => ({ exitCode: 1, stdout: '', stderr: `${NO_DAEMON}\n` }) },
    cacheDir: join(existingDir, 'not-yet', 'tools'),
  });
  const engine = report.checks[0]!;
  t.false(engine.ok);
  t.true(engine.detail.includes(NO_DAEMON));
  t.regex(engine.fix ?? '', /start Docker \/ set DOCKER_HOST/);
  // Without an engine there is no root dir to ask about: the nearest existing cache ancestor is measured.
  t.true(report.checks.find((c) => c.name === 'free disk')!.detail.includes(`${existingDir} (the tools cache; Docker root dir unknown`));
  const text = renderDoctor(report);
  t.true(text.includes(`✘ Docker engine: docker info failed: ${NO_DAEMON}\n    fix: start Docker / set DOCKER_HOST`));
  t.is(text.trimEnd().split('\n').pop(), 'not ready: 1 problem');
});

test('doctor: low inotify limits → both values, the sysctl fixes (not run), and missing tools are only a note', async (t) => {
  const base = healthy();
  const report = await doctor({
    probes: {
      ...base,
      readFile: async (p) => (p.endsWith('max_user_watches') ? '192536\n' : p.endsWith('max_user_instances') ? '128\n' : base.readFile(p)),
      findTool: async () => ({
        notes: ['kubectl on PATH (/usr/bin/kubectl) reports v1.32.4-dispatcher, not the pinned v1.36.1; not using it'],
      }),
    },
    cacheDir: '/var/cache/egl',
  });
  const inotify = report.checks.find((c) => c.name === 'inotify limits')!;
  t.false(inotify.ok);
  t.regex(inotify.detail, /max_user_watches=192536, max_user_instances=128/);
  t.regex(inotify.fix ?? '', /^sudo sysctl -w fs\.inotify\.max_user_watches=524288\nsudo sysctl -w fs\.inotify\.max_user_instances=512\n/);
  const kubectl = report.checks.find((c) => c.name === 'kubectl v1.36.1')!;
  t.true(kubectl.ok);
  t.regex(kubectl.detail, /will be downloaded into \/var\/cache\/egl on first use .*v1\.32\.4-dispatcher/);
  const text = renderDoctor(report);
  t.true(text.includes('    fix: sudo sysctl -w fs.inotify.max_user_instances=512'));
  t.is(text.trimEnd().split('\n').pop(), 'not ready: 1 problem');
});

test('doctor: little disk and cgroup v1 each fail with their own fix', async (t) => {
  const base = healthy();
  const report = await doctor({
    probes: { ...base, freeBytes: async () => 3 * 1024 ** 3, readFile: async (p) => (p.includes('cgroup') ? undefined : base.readFile(p)) },
  });
  const failed = report.checks.filter((c) => !c.ok);
  t.deepEqual(
    failed.map((c) => c.name),
    ['free disk', 'cgroup v2'],
  );
  t.regex(failed[0]!.detail, /^3\.0 GiB free .*about 4 GiB/);
  t.regex(failed[1]!.fix ?? '', /systemd\.unified_cgroup_hierarchy=1/);
  t.is(renderDoctor(report).trimEnd().split('\n').pop(), 'not ready: 2 problems');
});

test('doctor with the real probes agrees with docker info on this machine (here: no engine)', async (t) => {
  let engineUp = true;
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe' });
  } catch {
    engineUp = false;
  }
  const report = await doctor({ cacheDir: doctorCache });
  const engine = report.checks.find((c) => c.name === 'Docker engine')!;
  t.is(engine.ok, engineUp, engine.detail);
  if (!engineUp) {
    t.regex(engine.fix ?? '', /Docker/);
    t.regex(renderDoctor(report), /not ready: \d+ problems?\n$/);
  }
  t.is(report.checks.length, 7);
});

test('cluster.yaml is a kind v1alpha4 Cluster pinned to the node image digest', (t) => {
  const cfg = parse(readFileSync(join(repoRoot, 'kind-config/cluster.yaml'), 'utf8'));
  t.is(cfg.kind, 'Cluster');
  t.is(cfg.apiVersion, 'kind.x-k8s.io/v1alpha4');
  t.is(cfg.name, 'egress-lab');
  t.deepEqual(cfg.networking, { ipFamily: 'ipv4', podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16', kubeProxyMode: 'iptables' });
  t.deepEqual(cfg.nodes, [{ role: 'control-plane', image: NODE_IMAGE }]);
});

test('clusterCommands: create and label when absent, nothing when ours, refuse a foreign cluster', (t) => {
  const fresh = clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: false, managed: false }).map(renderCommand);
  t.deepEqual(fresh, [
    'kind create cluster --name egress-lab --config kind-config/cluster.yaml --wait 180s',
    'kubectl --context kind-egress-lab label nodes --all egress-lab.io/managed=true --overwrite',
  ]);
  t.deepEqual(clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: true, managed: true }), []);
  const err = t.throws(() => clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: true, managed: false }));
  t.regex(err!.message, /egress-lab\.io\/managed=true/);
  t.regex(err!.message, /kind delete cluster --name egress-lab/);
  t.deepEqual(deleteCommands().map(renderCommand), ['kind delete cluster --name egress-lab']);
});

test('istioInstallCommands: minimal profile, access log, ALLOW_ANY, the stats matcher, then waits for istiod', (t) => {
  const [install, wait, ...rest] = istioInstallCommands();
  t.deepEqual(rest, []);
  t.is(install!.program, 'istioctl');
  const sets = install!.args.flatMap((a, i) => (install!.args[i - 1] === '--set' ? [a] : []));
  t.deepEqual(sets, ['profile=minimal', 'meshConfig.accessLogFile=/dev/stdout', 'meshConfig.outboundTrafficPolicy.mode=ALLOW_ANY']);
  t.true(install!.args.includes('-y'));
  t.deepEqual(install!.args.slice(-2), ['-f', '-']);
  const overlay = parse(install!.input ?? '');
  t.is(overlay.kind, 'IstioOperator');
  t.deepEqual(overlay.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes, [
    'cluster.PassthroughCluster',
    'cluster.BlackHoleCluster',
    'cluster.outbound|',
    'tcp.',
    'listener.',
    'http.',
    'http_inspector',
  ]);
  t.is(renderCommand(wait!), 'kubectl --context kind-egress-lab -n istio-system rollout status deploy/istiod --timeout=5m');
});

test('preloadCommands: pull, save one platform, load the archive; the images are pinned', (t) => {
  const cmds = preloadCommands(['docker.io/istio/proxyv2:1.31.0'], { archiveDir: '/tmp/img', platform: 'linux/amd64' }).map(renderCommand);
  t.deepEqual(cmds, [
    'docker pull --platform linux/amd64 docker.io/istio/proxyv2:1.31.0',
    'docker image save --platform linux/amd64 -o /tmp/img/docker.io_istio_proxyv2_1.31.0.tar docker.io/istio/proxyv2:1.31.0',
    'kind load image-archive /tmp/img/docker.io_istio_proxyv2_1.31.0.tar --name egress-lab',
  ]);
  t.is(preloadCommands(IMAGES).length, IMAGES.length * 3);
  t.deepEqual(IMAGES.slice(0, 2), ['docker.io/istio/pilot:1.31.0', 'docker.io/istio/proxyv2:1.31.0']);
  t.true(IMAGES.includes(HTTPBIN_IMAGE));
  // A fixed tag on every image: ":latest" or no tag would mean imagePullPolicy Always on kind.
  for (const image of IMAGES) t.regex(image, /^docker\.io\/[\w.-]+\/[\w.-]+:(?!latest$)[\w.-]+$/, image);
});

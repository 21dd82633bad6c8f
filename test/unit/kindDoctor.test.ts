// The kind backend's machine checks (doctor), fed real command outputs as fixtures.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctor, renderDoctor, type DoctorProbes } from '../../harness/kind/doctor.ts';
import type { ToolName } from '../../harness/kind/tools.ts';

const NO_DAEMON = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

// Not "egl-": that prefix marks lab objects, which lab down sweeps.
const existingDir = mkdtempSync(join(tmpdir(), 'egress-lab-doctor-'));

test.after.always(() => {
  rmSync(existingDir, { recursive: true, force: true });
});

/** A machine where everything is in order; each test breaks one thing. */
function healthy(): DoctorProbes {
  const sysfs: Record<string, string> = {
    '/proc/sys/fs/inotify/max_user_watches': '524288\n',
    '/proc/sys/fs/inotify/max_user_instances': '512\n',
    '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
  };
  return {
    dockerInfo: () => Promise.resolve({ exitCode: 0, stdout: '29.4.0\n', stderr: '' }),
    dockerRootDir: () => Promise.resolve(existingDir),
    findTool: (name: ToolName) =>
      Promise.resolve({ found: { path: `/usr/local/bin/${name}`, source: 'path', version: 'pinned' }, notes: [] }),
    freeBytes: () => Promise.resolve(50 * 1024 ** 3),
    readFile: (p) => Promise.resolve(sysfs[p]),
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
    probes: { ...healthy(), dockerInfo: () => Promise.resolve({ exitCode: 1, stdout: '', stderr: `${NO_DAEMON}\n` }) },
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
      findTool: () =>
        Promise.resolve({
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
    probes: {
      ...base,
      freeBytes: () => Promise.resolve(3 * 1024 ** 3),
      readFile: async (p) => (p.includes('cgroup') ? undefined : base.readFile(p)),
    },
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

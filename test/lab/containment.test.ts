/**
 * Containment with the real sidecar: an interrupt at any moment of start-up (control plane up, one
 * Envoy up and the next pod starting), and a crashed run swept by `lab down --prefix`, leave no
 * process, cgroup, namespace, /etc/netns entry or root-namespace change behind.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffRootState, rootState } from '../../harness/lab/rootState.ts';
import { NETNS_ETC } from '../../harness/lab/netns.ts';
import { isRoot, leftoverNamespaces, leftoverProcesses, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);
const SCENARIO = 'mysql-3306-foreign-serviceentry-modern';

/** Starts a run and resolves once its output matches `when`, with the run's prefix and directory. */
function startRun(when: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/cli.ts', 'scenario', SCENARIO, '--run-dir', runsDir], { cwd: REPO });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const reached = new Promise<void>((r) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (when.test(out)) r();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const facts = () => ({
    prefix: /lab (egl-[0-9a-f]+): creating/.exec(out)?.[1] ?? 'egl-none',
    runDir: /run directory: (\S+)/.exec(out)?.[1] ?? '/none',
    out,
  });
  return { child, exited, reached, facts };
}

function nothingLeft(t: import('ava').ExecutionContext, prefix: string, runDir: string): void {
  t.deepEqual(leftoverNamespaces(prefix), [], 'namespaces');
  t.deepEqual(leftoverProcesses(prefix, runDir), [], 'processes and cgroups');
  t.false(existsSync(`${NETNS_ETC}/${prefix}-pod-mysql-client`), '/etc/netns entry');
}

for (const [moment, when] of [
  ['the control plane is up', /control plane: lab-istiod/],
  ['one Envoy is up and the next pod is starting', /pod mysql-client: pilot-agent and Envoy up/],
] as const) {
  serial(`Ctrl-C when ${moment} removes everything and exits 130`, async (t) => {
    const before = await rootState();
    const run = startRun(when);
    await run.reached;
    run.child.kill('SIGINT');
    const code = await run.exited;
    const { prefix, runDir, out } = run.facts();
    t.is(code, 130, out);
    t.regex(out, /interrupted \(SIGINT\)/);
    nothingLeft(t, prefix, runDir);
    t.deepEqual(diffRootState(before, await rootState()), []);
  });
}

serial('a crashed run (runner SIGKILLed with Envoy running) is swept by lab down --prefix, by cgroup', async (t) => {
  const before = await rootState();
  const run = startRun(/probe telnet-external-3306/);
  await run.reached;
  const { prefix, runDir } = run.facts();
  run.child.kill('SIGKILL');
  await run.exited;
  // The run is gone but everything it started lives on in its cgroup, Envoy included.
  t.true(
    leftoverProcesses(prefix, runDir).some((p) => /envoy/.test(p)),
    'Envoy should still run after the crash',
  );
  const down = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli.ts', 'lab', 'down', '--prefix', prefix], {
    cwd: REPO,
    encoding: 'utf8',
  });
  t.is(down.status, 0, down.stdout + down.stderr);
  t.regex(down.stdout, new RegExp(`killed the processes of 1 run cgroup\\(s\\): ${prefix}`));
  nothingLeft(t, prefix, runDir);
  t.deepEqual(diffRootState(before, await rootState()), []);
});

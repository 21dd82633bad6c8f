/**
 * Interrupts at 30 seeded random points: SIGINT to the whole process group (a terminal's Ctrl-C),
 * SIGINT to the runner alone, SIGTERM, and the run's own --timeout, during set-up (control plane,
 * servers, sidecars starting), probes or teardown, on the real sidecar and on the model. After each:
 * exit 130 (or the run's own code when it finished first), and no process, cgroup, namespace,
 * /etc/netns entry or root-namespace change survives. Run with `npm run test:stress`
 * (STRESS_SEED picks another sequence).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffRootState, rootState, type RootState } from '../../harness/lab/rootState.ts';
import { NETNS_ETC } from '../../harness/lab/netns.ts';
import { isRoot, leftoverNamespaces, leftoverProcesses, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.STRESS_SEED ?? 20261202);
const random = prng(SEED);
const METHODS = ['sigint-group', 'sigint-runner', 'sigterm', 'timeout'] as const;
/** Two sidecars and MariaDB on the real sidecar; one sidecar on the real one; the model. */
const SCENARIOS = ['mysql-3306-foreign-serviceentry-modern', 'redis-7000-modern', 'redis-7000'] as const;

const cases = Array.from({ length: 30 }, (_, i) => ({
  n: i + 1,
  method: METHODS[Math.floor(random() * METHODS.length)]!,
  scenario: SCENARIOS[Math.floor(random() * SCENARIOS.length)]!,
  // From the CLI's first moments to the middle of the probes (the runs take 3-6 s). Node itself needs
  // about 0.15 s on this machine (more under load) before any program's first line runs, and a signal
  // then ends it as it would any program; from bin/egress-lab.js's first line on, before tsx and the
  // harness load, the CLI handles it.
  delayMs: Math.round(400 + random() * 4000),
}));

let before: RootState;
test.before(async () => {
  if (isRoot) before = await rootState();
});

for (const c of cases) {
  serial(`#${c.n} (seed ${SEED}): ${c.method} after ${c.delayMs} ms into ${c.scenario} leaves nothing behind`, async (t) => {
    const args = [
      'bin/egress-lab.js',
      'scenario',
      c.scenario,
      '--run-dir',
      runsDir,
      ...(c.method === 'timeout' ? ['--timeout', `${c.delayMs}ms`] : []),
    ];
    // Its own process group, like a shell job: the group signal reaches every process the run started in it.
    const child = spawn(process.execPath, args, { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    if (c.method !== 'timeout') {
      await Promise.race([new Promise((r) => setTimeout(r, c.delayMs)), exited]);
      if (child.exitCode === null) {
        if (c.method === 'sigint-group') process.kill(-child.pid!, 'SIGINT');
        else child.kill(c.method === 'sigterm' ? 'SIGTERM' : 'SIGINT');
      }
    }
    const code = await exited;
    const prefix = /lab (egl-[0-9a-f]{6}): creating/.exec(out)?.[1];
    const runDir = /run directory: (\S+)/.exec(out)?.[1] ?? '/nonexistent';
    const finishedFirst = /^(PASS|FAIL) /m.test(out) && !/interrupted|run timeout/.test(out);
    t.true(code === 130 || (finishedFirst && (code === 0 || code === 1)), `exit ${code}\n${out}`);
    if (code === 130) t.regex(out, /nothing is left behind|before anything was created/);
    if (prefix) {
      t.deepEqual(leftoverNamespaces(`${prefix}-`), [], 'namespaces');
      t.deepEqual(leftoverProcesses(prefix, runDir), [], 'processes and cgroup');
      t.deepEqual(existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC).filter((d) => d.startsWith(prefix)) : [], [], '/etc/netns entries');
    }
  });
}

serial('the root network namespace is unchanged after all the interrupted runs', async (t) => {
  t.deepEqual(diffRootState(before, await rootState()), []);
});

/**
 * The command line running scenarios in the lab as a user runs it: exit codes, Ctrl-C cleaning up,
 * --keep with `lab down`, and proxy-config on a kept lab and on a saved config_dump.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { realParts } from '../../harness/istio/parts.ts';
import { diffRootState, rootState } from '../../harness/lab/rootState.ts';
import { isRoot, leftoverNamespaces, runsDir, SKIP_REASON } from '../helpers/lab.ts';
import { cliRunner } from '../helpers/cli.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

const cli = cliRunner(120_000);

serial('npm run scenario redis-7000 exits 0 and prints the run directory', (t) => {
  const { code, out } = cli(['scenario', 'redis-7000', '--run-dir', runsDir]);
  t.is(code, 0, out);
  t.regex(out, /PASS redis-7000: 6 probes/);
  t.regex(out, /run directory: \//);
});

serial('a failing scenario exits 1', (t) => {
  const { code, out } = cli(['scenario', 'test/fixtures/redis-7000-wrong-expectation.yaml', '--run-dir', runsDir]);
  t.is(code, 1, out);
  t.regex(out, /FAIL redis-7000-wrong-expectation/);
});

serial('--keep leaves the lab up with instructions, and lab down removes it', (t) => {
  const kept = cli(['scenario', 'redis-7000-modern', '--keep', '--run-dir', runsDir]);
  t.is(kept.code, 0, kept.out);
  const prefix = /npm run lab -- down --prefix (egl-[0-9a-f]+) +# removes this lab only/.exec(kept.out)?.[1];
  t.truthy(prefix, kept.out);
  // A failing assertion below must not leave the kept lab for the next test to find.
  t.teardown(() => void (leftoverNamespaces(prefix!).length > 0 && cli(['lab', 'down', '--prefix', prefix!])));
  t.regex(kept.out, /ip netns exec egl-[0-9a-f]+-pod-sleep setpriv --reuid=1000/);
  t.true(leftoverNamespaces(prefix!).length >= 3);
  // The sidecar is the real thing: Istio's pilot-agent and the wheel's Envoy, as uid 1337, in the pod namespace.
  const inPod = execFileSync('ip', ['netns', 'pids', `${prefix}-pod-sleep`], { encoding: 'utf8' })
    .split(/\s+/)
    .filter(Boolean);
  // pilot-agent starts short-lived helpers: a pid listed a moment ago may be gone, and is skipped.
  const procs = inPod.flatMap((pid) => {
    try {
      return [{ exe: readlinkSync(`/proc/${pid}/exe`), uid: statSync(`/proc/${pid}`).uid }];
    } catch {
      return [];
    }
  });
  const parts = realParts();
  t.true(
    procs.some((p) => p.exe === parts.envoy && p.uid === 1337),
    JSON.stringify(procs),
  );
  t.true(
    procs.some((p) => p.exe === parts.pilotAgent && p.uid === 1337),
    JSON.stringify(procs),
  );
  const listeners = cli(['proxy-config', 'listener', 'sleep', '--port', '7000', '--prefix', prefix!]);
  t.is(listeners.code, 0, listeners.out);
  t.regex(listeners.out, /^ADDRESS +PORT +MATCH +DESTINATION\n/);
  t.regex(listeners.out, /\n0\.0\.0\.0 +7000 +App: HTTP +Route: 7000\n/);
  t.regex(listeners.out, /\n0\.0\.0\.0 +7000 +ALL +PassthroughCluster\n/);
  const down = cli(['lab', 'down', '--prefix', prefix!]);
  t.is(down.code, 0, down.out);
  t.regex(down.out, /removed \d+ namespace\(s\)/);
  t.deepEqual(leftoverNamespaces(prefix!), []);
});

serial("proxy-config reads a run's saved config_dump: seed 002's listener table", (t) => {
  const run = cli(['scenario', 'mysql-3306-foreign-serviceentry', '--run-dir', runsDir]);
  t.is(run.code, 0, run.out);
  const dir = /artifacts: (\S+)/.exec(run.out)?.[1];
  const { code, out } = cli(['proxy-config', 'listener', `${dir}/pods/mysql-client/config_dump.json`, '--port', '3306']);
  t.is(code, 0, out);
  t.is(
    out,
    'ADDRESS       PORT MATCH DESTINATION\n' +
      '0.0.0.0       3306 ALL   Cluster: outbound|3306||mysql.demo\n' +
      '10.68.228.107 3306 ALL   Cluster: outbound|3306||mysql-server.demo1.svc.cluster.local\n',
  );
  const json = cli(['proxy-config', 'cluster', `${dir}/pods/mysql-client/config_dump.json`, '--fqdn', 'mysql.demo', '-o', 'json']);
  t.is((JSON.parse(json.out) as Array<{ type?: string }>)[0]!.type, 'STRICT_DNS');
});

serial('Ctrl-C during a run removes the lab and says so', async (t) => {
  const before = await rootState();
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/cli.ts', 'scenario', 'redis-7000', '--run-dir', runsDir], {
    cwd: REPO,
  });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((r) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('probe nc-7000')) r();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  });
  const prefix = /lab (egl-[0-9a-f]+): creating/.exec(out)?.[1];
  child.kill('SIGINT');
  t.is(await exited, 130, out);
  t.regex(out, /interrupted \(SIGINT\); removing the lab/);
  t.regex(out, /the lab was removed, nothing is left behind; partial reports are in/);
  t.deepEqual(leftoverNamespaces(prefix!), []);
  t.deepEqual(diffRootState(before, await rootState()), []);
});

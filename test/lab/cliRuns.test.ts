/**
 * The command line as a user runs it: exit codes, bad input rejected before anything is created,
 * Ctrl-C cleaning up, --keep with `lab down`, and the istio-iptables printer.
 */
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { realParts } from '../../harness/istio/parts.ts';
import { diffRootState, rootState } from '../../harness/lab/rootState.ts';
import { LAB_PREFIX } from '../../harness/lab/topology.ts';
import { isRoot, leftoverNamespaces, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('iptables prints the default modern restore text for the injector flags', (t) => {
  const { code, out } = cli([
    'iptables',
    '--',
    '-p',
    '15001',
    '-z',
    '15006',
    '-u',
    '1337',
    '-m',
    'REDIRECT',
    '-i',
    '*',
    '-x',
    '',
    '-b',
    '*',
    '-d',
    '15090,15021,15020',
  ]);
  t.is(code, 0, out);
  t.true(out.startsWith('* nat\n-N ISTIO_INBOUND\n'), out);
  t.true(out.includes('-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT\n'));
  t.true(out.endsWith('-A ISTIO_OUTPUT -j ISTIO_REDIRECT\nCOMMIT\n'));
});

test('iptables rejects an unknown flag and an unmodelled Istio version', (t) => {
  const bad = cli(['iptables', '--', '--bogus', '1']);
  t.is(bad.code, 2);
  t.regex(bad.out, /--bogus/);
  const version = cli(['iptables', '--istio', '1.12', '--', '-p', '15001']);
  t.is(version.code, 2);
  t.regex(version.out, /1\.4-1\.6 and 1\.25-1\.31/);
});

serial('a bad scenario file fails before anything is created, naming file, line, field and reason', (t) => {
  const before = leftoverNamespaces(LAB_PREFIX);
  const { code, out } = cli(['scenario', 'test/fixtures/bad-port.yaml']);
  t.is(code, 2, out);
  t.regex(out, /bad-port\.yaml:7: workloads\[0\]: unknown field\(s\) "sidecars"/);
  t.regex(out, /bad-port\.yaml:11: probes\[0\]\.tcp\.port: expected a port from 1 to 65535/);
  t.deepEqual(leftoverNamespaces(LAB_PREFIX), before);
});

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
  const listeners = cli(['proxy-config', 'listener', 'sleep', '--port', '7000']);
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
  t.is(JSON.parse(json.out)[0].type, 'STRICT_DNS');
});

serial('proxy-config explains what it needs when no lab is kept', (t) => {
  const { code, out } = cli(['proxy-config', 'listener', 'no-such-pod']);
  t.is(code, 2);
  t.regex(out, /no kept lab has a pod "no-such-pod"/);
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

/**
 * The README's exit-code table, as a user meets it: 0 every expectation held, 1 a scenario failed,
 * 2 bad input or usage (nothing created), 130 interrupted or timed out, whichever way the signal
 * came (npm included). And the commands around a run: lab down asks before sweeping every lab,
 * lab prune, relative paths from where the command was started.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isRoot, leftoverNamespaces, leftoverProcesses, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

function cli(args: string[], cwd = REPO) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/egress-lab.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const USAGE: Array<[string, string[], RegExp]> = [
  ['a missing scenario name', ['scenario'], /missing required argument 'names'/],
  ['an unknown cleanup mode', ['scenarios', '--cleanup', 'bogus'], /Allowed choices are always, on-success, never/],
  ['a timeout that is no duration', ['scenarios', '--timeout', '5x'], /expected a duration/],
  ['--repeat abc', ['scenarios', '--repeat', 'abc'], /expected a whole number of at least 1/],
  ['--repeat 0', ['scenarios', '--repeat', '0'], /expected a whole number of at least 1/],
  ['--repeat -3', ['scenarios', '--repeat', '-3'], /expected a whole number of at least 1/],
  ['--jobs 0', ['scenarios', '--jobs', '0'], /expected a whole number of at least 1/],
  ['lab down with a prefix that is no run prefix', ['lab', 'down', '--prefix', 'foo'], /expected a run prefix like egl-1a2b3c/],
  ['an unknown command', ['nosuchcommand'], /unknown command/],
  ['an unknown scenario', ['scenario', 'no-such-scenario'], /no scenario "no-such-scenario"/],
  ['an istio-iptables port out of range', ['iptables', '--', '-p', '99999'], /expected a port from 1 to 65535/],
  ['lab prune without a rule', ['lab', 'prune'], /--keep N or --older-than AGE/],
];

for (const [what, args, why] of USAGE) {
  test(`exit 2 for ${what}`, (t) => {
    const { code, out } = cli(args);
    t.is(code, 2, out);
    t.regex(out, why);
  });
}

test('exit 0 for help and for valid files', (t) => {
  t.is(cli(['--help']).code, 0);
  t.is(cli(['validate', 'scenarios/redis-7000.yaml']).code, 0);
});

test('a relative path is taken from where npm run was started', (t) => {
  const r = spawnSync('npm', ['run', '-s', 'egress-lab', '--', 'validate', 'redis-7000.yaml'], {
    cwd: join(REPO, 'scenarios'),
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, new RegExp(`ok ${join(REPO, 'scenarios', 'redis-7000.yaml')}`));
});

serial('exit 130 when the run timeout runs out, with the lab removed', (t) => {
  const { code, out } = cli(['scenarios', 'redis-7000-modern', '--timeout', '2500ms', '--run-dir', runsDir]);
  t.is(code, 130, out);
  t.regex(out, /run timeout after 2\.5 s: the lab was removed, nothing is left behind/);
  // Quiet output: the interrupted scenario is printed in full, never as a passing ✔ line.
  t.notRegex(out, /^✔ redis-7000-modern/m);
  t.regex(out, /INTERRUPTED redis-7000-modern:/);
  const prefix = /lab (egl-[0-9a-f]{6}): creating/.exec(out)![1]!;
  t.deepEqual(leftoverNamespaces(`${prefix}-`), []);
});

serial('exit 130 for SIGTERM through npm, and npm waits for the teardown', async (t) => {
  const child = spawn('npm', ['run', '-s', 'scenario', 'redis-7000-modern', '--', '--run-dir', runsDir], { cwd: REPO });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((r) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('probe nc-7000')) r();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  child.kill('SIGTERM');
  t.is(await exited, 130, out);
  // npm exited only after the CLI did: nothing is left by the time it returns.
  const prefix = /lab (egl-[0-9a-f]{6}): creating/.exec(out)![1]!;
  const runDir = /run directory: (\S+)/.exec(out)![1]!;
  t.deepEqual(leftoverNamespaces(`${prefix}-`), []);
  t.deepEqual(leftoverProcesses(prefix, runDir), []);
});

serial('lab down without --prefix names the labs and asks for --all; --all removes them', (t) => {
  const kept = cli(['scenario', 'redis-7000-registry-only', '--keep', '--run-dir', runsDir]);
  t.is(kept.code, 0, kept.out);
  const prefix = /down --prefix (egl-[0-9a-f]{6})/.exec(kept.out)![1]!;
  const ask = cli(['lab', 'down']);
  t.is(ask.code, 2, ask.out);
  t.regex(ask.out, new RegExp(`labs on this host: .*${prefix}`));
  t.regex(ask.out, /--all/);
  t.true(leftoverNamespaces(`${prefix}-`).length > 0, 'nothing was removed');
  const all = cli(['lab', 'down', '--all']);
  t.is(all.code, 0, all.out);
  t.deepEqual(leftoverNamespaces(`${prefix}-`), []);
  t.is(cli(['lab', 'down']).out.trim(), 'no lab objects found');
});

test('lab prune keeps the newest N, or removes what is older than an age; other files stay', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-prune-'));
  chmodSync(dir, 0o755);
  const names = ['20261101-010000-redis-7000-egl-aaaaaa', '20261125-010000-suite-bbbbbb', '20261202-010000-redis-7000-modern-egl-cccccc'];
  const ages = [30, 7.5, 0];
  names.forEach((n, i) => {
    mkdirSync(join(dir, n));
    const when = (Date.now() - ages[i]! * 86_400_000) / 1000;
    utimesSync(join(dir, n), when, when);
  });
  mkdirSync(join(dir, '.cache'));
  const older = cli(['lab', 'prune', '--older-than', '7d', '--run-dir', dir]);
  t.is(older.code, 0, older.out);
  t.deepEqual(readdirSync(dir).sort(), ['.cache', names[2]!]);
  mkdirSync(join(dir, names[0]!));
  const old = (Date.now() - 30 * 86_400_000) / 1000;
  utimesSync(join(dir, names[0]!), old, old);
  t.is(cli(['lab', 'prune', '--keep', '1', '--run-dir', dir]).code, 0);
  t.deepEqual(readdirSync(dir).sort(), ['.cache', names[2]!]);
});

/**
 * The command line without a lab: the istio-iptables printer, and the README's exit code 2 for bad
 * input or usage (exit 0 for help and valid files), relative paths from where npm run was started,
 * lab prune.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliRunner } from '../helpers/cli.ts';
import { INJECTOR_DEFAULT_ARGS } from '../helpers/iptables.ts';

const cli = cliRunner(120_000);

const REPO = resolve(import.meta.dirname, '../..');

test('iptables prints the default modern restore text for the injector flags', (t) => {
  const { code, out } = cli(['iptables', '--', ...INJECTOR_DEFAULT_ARGS]);
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

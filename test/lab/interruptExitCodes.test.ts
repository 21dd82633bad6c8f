/**
 * The README's exit code 130 for a run that is interrupted or times out, whichever way the signal
 * came (npm included), with the lab removed.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { isRoot, leftoverNamespaces, leftoverProcesses, runsDir, SKIP_REASON } from '../helpers/lab.ts';
import { cliRunner } from '../helpers/cli.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

const cli = cliRunner(120_000);

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

/**
 * `lab down` without --prefix names every lab on the host and asks for --all; --all removes them all.
 * It sweeps every lab on the host, so it runs alone (ava.lab-exclusive.config.js).
 */
import test from 'ava';
import { isRoot, leftoverNamespaces, runsDir, SKIP_REASON } from '../helpers/lab.ts';
import { cliRunner } from '../helpers/cli.ts';

const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

const cli = cliRunner(120_000);

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

/**
 * `egress-lab import` in the lab: seed 002 plus a hundred unrelated Services, imported and run with
 * --record, reproduces the closed connection, and the recorded scenario passes when run again.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { CERT_TEXT, customerCluster, SECRET_TEXT } from '../helpers/customerCluster.ts';
import { isRoot, runsDir, SKIP_REASON } from '../helpers/lab.ts';
import { cliRunner } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-import-it-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const seed002 = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
const cluster = customerCluster(seed002, 'mysql-client', 3306);

/** The fields of the recorded probe's expect block that the test reads. */
interface RecordedExpect {
  client: { connect: string; errorClass: string };
  path: unknown;
  stats: Record<string, string>;
  conntrack: unknown;
}

const cli = cliRunner(240_000);

const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

serial('seed 002 plus a hundred unrelated Services, imported and run with --record, reproduces the closed connection', (t) => {
  const dir = mkdtempSync(join(tmp, 'cli-'));
  writeFileSync(join(dir, 'objects.yaml'), cluster.listYaml);
  writeFileSync(join(dir, 'pod.yaml'), cluster.podYaml);
  writeFileSync(join(dir, 'istio-cm.yaml'), cluster.meshConfigYaml);
  const imported = cli(
    [
      'import',
      'objects.yaml',
      'pod.yaml',
      'istio-cm.yaml',
      '--pod',
      'demo1/mysql-client',
      '--to',
      '10.10.13.110:3306',
      '--record',
      '--run-dir',
      runsDir,
    ],
    dir,
  );
  t.is(imported.code, 0, imported.out);
  t.regex(imported.out, /kept 2 object\(s\) for demo1\/mysql-client to 10\.10\.13\.110:3306 \(mysql\)/);
  t.regex(imported.out, /recorded what netns\/envoy saw into .*import-mysql-client\.yaml/);
  const file = join(dir, 'import-mysql-client.yaml');
  const text = readFileSync(file, 'utf8');
  for (const secret of [SECRET_TEXT, CERT_TEXT, 'db-credentials']) t.false(text.includes(secret), secret);
  const expect = (parseYaml(text) as { probes: Array<{ expect: RecordedExpect }> }).probes[0]!.expect;
  t.is(expect.client.connect, 'ok', 'the sidecar accepts the connection');
  t.true(['closed', 'reset'].includes(expect.client.errorClass), `then closes it: ${expect.client.errorClass}`);
  t.deepEqual(expect.path, { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' });
  t.is(expect.stats['cluster.outbound|3306||mysql.demo;.upstream_cx_none_healthy'], '+1');
  t.deepEqual(expect.conntrack, { path: 'redirected', legs: 1, upstream: 'none' });
  const again = cli(['scenario', file, '--run-dir', runsDir], dir);
  t.is(again.code, 0, again.out);
  t.regex(again.out, /PASS import-mysql-client: 1 probes, \d+ checks, 0 failed/);
});

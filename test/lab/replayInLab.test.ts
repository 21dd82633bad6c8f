/**
 * `egress-lab replay` in the lab, as a user runs it: seed 002's client config_dump from a run
 * directory (the seed era's, which the model made, and current Istio's, which real Envoy held)
 * replayed in the lab's upstream Envoy behind istio-iptables shows the same closed connection (and
 * `explain` on that dump names its listener and cluster); a mapping's `lab:` address serves an
 * endpoint that exists only in the customer's network; and the root namespace is as it was.
 */
import test from 'ava';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffRootState, rootState } from '../../harness/lab/rootState.ts';
import { isRoot, leftoverNamespaces, runInLab, runsDir, SKIP_REASON } from '../helpers/lab.ts';
import { cliRunner } from '../helpers/cli.ts';

const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

const cli = cliRunner(180_000);

const dir = mkdtempSync(join(runsDir, 'replay-'));
chmodSync(dir, 0o755);
const mapFile = join(dir, 'map.yaml');
writeFileSync(
  mapFile,
  [
    'servers:',
    '  - { address: 10.10.13.110, ports: [3306], kind: mysql }',
    '  # the in-mesh mysql-server pod: inside the pod /24 in the lab, so it is served elsewhere',
    '  - { address: 172.20.0.30, ports: [3306], kind: mysql, lab: 10.10.14.30 }',
    '',
  ].join('\n'),
);

/** The "seen by" block of one probe in replay's output. */
function seenBy(out: string, probe: string): string {
  const start = out.indexOf(`seen by ${probe}:`);
  return start < 0 ? '' : out.slice(start, out.indexOf('\nseen by', start + 1) > 0 ? out.indexOf('\nseen by', start + 1) : undefined);
}

for (const scenario of ['mysql-3306-foreign-serviceentry', 'mysql-3306-foreign-serviceentry-modern']) {
  serial(`${scenario}: its client's config_dump, replayed in the lab's Envoy, shows the same closed connection`, async (t) => {
    const { outcome, prefix } = await runInLab(scenario);
    const dump = join(outcome.runDir, 'pods', 'mysql-client', 'config_dump.json');
    // explain on the same run directory's dump names the path the replay then shows.
    const explained = cli(['explain', '--config-dump', dump, '--to', '10.10.13.110:3306']);
    t.is(explained.code, 0, explained.out);
    t.regex(explained.out, /listener +0\.0\.0\.0_3306\n[\s\S]*cluster +outbound\|3306\|\|mysql\.demo\n/);
    const before = await rootState();
    const r = cli([
      'replay',
      '--config-dump',
      dump,
      '--map',
      mapFile,
      '--to',
      '10.10.13.110:3306',
      '--to',
      '10.68.228.107:3306',
      '--run-dir',
      dir,
    ]);
    t.is(r.code, 0, r.out);
    t.regex(r.out, /mapping: 10\.10\.13\.110:3306 → lab mysql server at 10\.10\.13\.110/);
    t.regex(r.out, /mapping: 172\.20\.0\.30:3306 → lab mysql server at 10\.10\.14\.30 \(the config's endpoint rewritten to it\)/);
    t.regex(r.out, /upstream Envoy up as uid 1337 with the replayed configuration/);
    t.regex(r.out, /fidelity: the configuration is the customer's dump/);
    const external = seenBy(r.out, 'mysql-10-10-13-110-3306');
    t.regex(external, /connect: ok\n\s+errorClass: (closed|reset)/, r.out);
    t.regex(external, /listener: 0\.0\.0\.0_3306\n\s+cluster: outbound\|3306\|\|mysql\.demo/);
    t.regex(external, /cluster\.outbound\|3306\|\|mysql\.demo;?\.upstream_cx_none_healthy: "\+1"/);
    t.regex(external, /legs: 1\n\s+upstream: none/);
    // The in-mesh server's endpoint, served at the mapping's lab address: MariaDB's greeting comes back.
    const inMesh = seenBy(r.out, 'tcp-10-68-228-107-3306');
    t.regex(inMesh, /bytes: [1-9]\d*/, `the mapped server's greeting came back: ${r.out}`);
    t.regex(inMesh, /upstream: 10\.10\.14\.30:3306/);
    t.regex(inMesh, /listener: 10\.68\.228\.107_3306/);
    t.deepEqual(diffRootState(before, await rootState()), []);
    const replayPrefix = /lab (egl-[0-9a-f]{6}): creating/.exec(r.out)?.[1];
    t.truthy(replayPrefix, r.out);
    t.deepEqual([...leftoverNamespaces(`${prefix}-`), ...leftoverNamespaces(`${replayPrefix}-`)], []);
  });
}

/**
 * `explain` over a real Envoy's /config_dump from a lab run: the path it names is the one the real
 * probe's stats took.
 */
import test from 'ava';
import { join } from 'node:path';
import { explainDump } from '../../harness/istio/explain.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { isRoot, runInLab, SKIP_REASON } from '../helpers/lab.ts';

const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

serial("a real Envoy's /config_dump from a lab run: explain names the path the real probe's stats took", async (t) => {
  const { outcome } = await runInLab('mysql-3306-foreign-serviceentry-modern');
  const file = join(outcome.runDir, 'pods', 'mysql-client', 'config_dump.json');
  const explained = await explainDump(realParts().labIstiod, file, [
    { address: '10.10.13.110', port: 3306, protocol: 'tcp', tls: false },
    { address: '10.68.228.107', port: 3306, protocol: 'tcp', tls: false },
  ]);
  t.regex(explained.dump.istioVersion ?? '', /^1\.\d+/);
  const [external, inMesh] = explained.explanations;
  t.deepEqual(external!.match, { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' });
  t.deepEqual(inMesh!.match, { listener: '10.68.228.107_3306', cluster: 'outbound|3306||mysql-server.demo1.svc.cluster.local' });
  // The lab saves the dump with EDS, so the in-mesh cluster's endpoint is named.
  t.deepEqual(inMesh!.endpoints, ['172.20.0.30:3306 healthy']);
  const moved = (probe: string) => outcome.probes.find((p) => p.probe.name === probe)!.statsDiff ?? {};
  t.true(
    (moved('telnet-external-3306')['listener.0.0.0.0_3306.downstream_cx_total'] ?? 0) >= 1,
    JSON.stringify(moved('telnet-external-3306')),
  );
  t.true((moved('telnet-external-3306')['cluster.outbound|3306||mysql.demo;.upstream_cx_none_healthy'] ?? 0) >= 1);
  t.true((moved('telnet-mysql-server')['cluster.outbound|3306||mysql-server.demo1.svc.cluster.local;.upstream_cx_total'] ?? 0) >= 1);
});

/**
 * lab-istiod offline, no root and no Envoy: what istiod generates for a scenario's pods (dump),
 * and Istio's validation of a scenario's Istio objects as the CLI reports it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { controlPlaneInputs } from '../../harness/istio/controlPlaneInputs.ts';
import { dumpGeneratedConfig, writeControlPlaneInputs } from '../../harness/istio/controlPlane.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { proxyConfigView } from '../../harness/views/proxyConfig.ts';

const REPO = resolve(import.meta.dirname, '../..');

async function dump(name: string, pod: string): Promise<unknown> {
  const dir = writeControlPlaneInputs(mkdtempSync(join(tmpdir(), 'egress-lab-cp-')), controlPlaneInputs(loadScenarioFile(name).scenario));
  return (await dumpGeneratedConfig(realParts().labIstiod, dir, [pod]))[pod];
}

test("seed 002 on current Istio: istiod gives the client a match-all 0.0.0.0_3306 to mysql.demo beside the in-mesh server's VIP", async (t) => {
  const d = await dump('mysql-3306-foreign-serviceentry-modern', 'demo1/mysql-client');
  t.is(
    proxyConfigView('listener', d, { port: 3306 }),
    'ADDRESS       PORT MATCH DESTINATION\n' +
      '0.0.0.0       3306 ALL   Cluster: outbound|3306||mysql.demo\n' +
      '10.68.228.107 3306 ALL   Cluster: outbound|3306||mysql-server.demo1.svc.cluster.local\n',
  );
  t.regex(proxyConfigView('cluster', d, { fqdn: 'mysql.demo' }), /mysql\.demo +3306 +- +outbound +STRICT_DNS/);
});

test("Istio's own switches keep every istio-proxy-only extension out of the generated config", async (t) => {
  for (const [name, pod] of [
    ['mysql-3306-foreign-serviceentry-modern', 'demo1/mysql-server'],
    ['virtualservice-timeout', 'default/sleep'],
  ] as const) {
    const text = JSON.stringify(await dump(name, pod));
    t.notRegex(text, /istio\.(metadata_exchange|alpn|stats)/, `${name} ${pod}`);
    t.regex(text, /envoy\.filters\.network\.tcp_proxy/);
  }
});

test('validate names the file, the line and the object of each Istio validation error, and exits 2', (t) => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'harness/cli.ts', 'validate', 'test/fixtures/istio-invalid.yaml', 'scenarios/redis-7000-modern.yaml'],
    { cwd: REPO, encoding: 'utf8' },
  );
  t.is(r.status, 2, r.stdout + r.stderr);
  t.regex(
    r.stderr,
    /istio-invalid\.yaml:14: mesh\.serviceEntries\[0\]: ServiceEntry default\/db: Istio's validation: CIDR addresses are allowed only for NONE\/STATIC resolution types/,
  );
  t.regex(r.stderr, /istio-invalid\.yaml:22: mesh\.destinationRules\[0\]: DestinationRule default\/bad-tls: Istio's validation: .*BOGUS/);
  t.regex(r.stderr, /istio-invalid\.yaml:25: mesh\.destinationRules\[1\]: DestinationRule default\/no-host: Istio's validation: /);
  t.regex(r.stdout, /ok .*redis-7000-modern\.yaml/, 'the other file is still checked');
});

/**
 * Input the command line refuses before anything is created: a bad scenario file, one Istio
 * rejects, malformed import input, a dump or mapping replay cannot use; and proxy-config with no
 * kept lab. No root; a lab elsewhere on the host does not matter.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { customerCluster } from '../helpers/customerCluster.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { cliRunner } from '../helpers/cli.ts';

const cli = cliRunner(240_000);

const REPO = resolve(import.meta.dirname, '../..');

const tmp = mkdtempSync(join(tmpdir(), 'egress-lab-import-it-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const seed002 = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
const cluster = customerCluster(seed002, 'mysql-client', 3306);

const dir = mkdtempSync(join(tmpdir(), 'egress-lab-replay-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('a bad scenario file fails before anything is created, naming file, line, field and reason', (t) => {
  const { code, out } = cli(['scenario', 'test/fixtures/bad-port.yaml']);
  t.is(code, 2, out);
  t.regex(out, /bad-port\.yaml:7: workloads\[0\]: unknown field\(s\) "sidecars"/);
  t.regex(out, /bad-port\.yaml:11: probes\[0\]\.tcp\.port: expected a port from 1 to 65535/);
  t.notRegex(out, /lab egl-[0-9a-f]{6}: creating/, 'no lab was created');
});

test('proxy-config explains what it needs when no lab is kept', (t) => {
  const { code, out } = cli(['proxy-config', 'listener', 'no-such-pod']);
  t.is(code, 2);
  t.regex(out, /no kept lab has a pod "no-such-pod"/);
});

test('a scenario Istio rejects is refused before anything is created', (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli.ts', 'scenario', 'test/fixtures/istio-invalid.yaml'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  t.is(r.status, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /ServiceEntry default\/db: Istio's validation/);
  t.notRegex(r.stdout, /creating namespaces/);
  t.notRegex(r.stdout + r.stderr, /lab egl-[0-9a-f]{6}: creating/, 'no lab was created');
});

test('malformed input is refused naming the file and object; nothing is written and no lab is created', (t) => {
  const dir = mkdtempSync(join(tmp, 'bad-'));
  const broken = cluster.listYaml.replace(/name: svc-42\n(\s+)namespace: team-2/, 'name: svc-42\n$1namespace: team-2\n$1labels: 7');
  t.not(broken, cluster.listYaml);
  writeFileSync(join(dir, 'objects.yaml'), broken);
  writeFileSync(join(dir, 'pod.yaml'), cluster.podYaml);
  const r = cli(['import', 'objects.yaml', 'pod.yaml', '--pod', 'demo1/mysql-client', '--to', '10.10.13.110:3306', '--record'], dir);
  t.is(r.code, 2, r.out);
  t.regex(r.out, /objects\.yaml item \d+ \(Service team-2\/svc-42\): metadata\.labels must be object/);
  t.false(existsSync(join(dir, 'import-mysql-client.yaml')));
  t.notRegex(r.out, /lab egl-[0-9a-f]{6}: creating/, 'no lab was created');
  const noPod = cli(['import', 'pod.yaml', '--pod', 'demo1/nope', '--to', '10.10.13.110:3306'], dir);
  t.is(noPod.code, 2);
  t.regex(noPod.out, /--pod demo1\/nope: no such Pod in the input \(it has demo1\/mysql-client\)/);
  const unknownPort = cli(['import', 'pod.yaml', '--pod', 'demo1/mysql-client', '--to', '10.0.0.1:5432'], dir);
  t.is(unknownPort.code, 2);
  t.regex(unknownPort.out, /cannot tell what server answers on port 5432; say it with --server-kind 10\.0\.0\.1:5432=/);
  const oldIstio = cli(['import', 'pod.yaml', '--pod', 'demo1/mysql-client', '--to', '10.0.0.1:3306', '--istio', '1.12'], dir);
  t.is(oldIstio.code, 2);
  t.regex(oldIstio.out, /--istio: Istio 1\.12 is not modelled/);
  const inPodNet = cli(['import', 'pod.yaml', '--pod', 'demo1/mysql-client', '--to', '172.20.0.30:3306'], dir);
  t.is(inPodNet.code, 2);
  t.regex(inPodNet.out, /--to 172\.20\.0\.30:3306: inside the pod's \/24 \(172\.20\.0\.0\/24\)/);
  // --force over an existing file that a failed import must not touch.
  writeFileSync(join(dir, 'import-mysql-client.yaml'), 'mine\n');
  const forced = cli(['import', 'pod.yaml', '--pod', 'demo1/mysql-client', '--to', '10.0.0.1:5432', '--force'], dir);
  t.is(forced.code, 2);
  t.is(readFileSync(join(dir, 'import-mysql-client.yaml'), 'utf8'), 'mine\n');
});

test('a dump that is not one, a bad mapping, or a dump without endpoints is refused before anything is created', (t) => {
  const notDump = join(dir, 'not-a-dump.json');
  writeFileSync(notDump, '{"hello": 1}');
  const a = cli(['replay', '--config-dump', notDump, '--to', '10.0.0.1:80', '--run-dir', dir]);
  t.is(a.code, 2, a.out);
  t.regex(a.out, /egress-lab replay: not an Envoy config dump/);
  const badMap = join(dir, 'bad-map.yaml');
  writeFileSync(badMap, 'servers:\n  - { address: 10.0.0.1, ports: [80], kind: ftp }\n');
  const b = cli(['replay', '--config-dump', notDump, '--map', badMap, '--to', '10.0.0.1:80', '--run-dir', dir]);
  t.is(b.code, 2, b.out);
  t.regex(b.out, /bad-map\.yaml: servers\.0\.kind: /);
  const l6 = loadScenarioFile('mysql-3306-foreign-serviceentry');
  const dump = join(dir, 'seed-002.json');
  writeFileSync(dump, JSON.stringify(renderConfigDump(buildProxyConfig(l6.scenario, l6.istio, l6.scenario.workloads[0]!))));
  const inPodNet = join(dir, 'in-pod-net.yaml');
  writeFileSync(inPodNet, 'servers:\n  - { address: 172.20.0.30, ports: [3306], kind: mysql }\n');
  const d = cli(['replay', '--config-dump', dump, '--map', inPodNet, '--to', '10.10.13.110:3306', '--run-dir', dir]);
  t.is(d.code, 2, d.out);
  t.regex(d.out, /in-pod-net\.yaml: servers\.0: 172\.20\.0\.30 is inside the pod's \/24 172\.20\.0\.0\/24.*give it a lab: address/);
  const e = cli(['replay', '--config-dump', dump, '--map', join(dir, 'nope.yaml'), '--to', '10.10.13.110:3306', '--run-dir', dir]);
  t.is(e.code, 2, e.out);
  t.regex(e.out, /nope\.yaml: no such file/);
  const l = loadScenarioFile('mysql-3306-foreign-serviceentry');
  const full = renderConfigDump(buildProxyConfig(l.scenario, l.istio, l.scenario.workloads[0]!)) as {
    configs: Array<Record<string, unknown>>;
  };
  const withoutEds = join(dir, 'no-eds.json');
  writeFileSync(withoutEds, JSON.stringify({ configs: full.configs.filter((c) => !String(c['@type']).endsWith('EndpointsConfigDump')) }));
  const c = cli(['replay', '--config-dump', withoutEds, '--to', '10.0.0.1:80', '--run-dir', dir]);
  t.is(c.code, 2, c.out);
  t.regex(c.out, /takes its endpoints from EDS, and the dump has none/);
  for (const x of [a, b, d, e, c]) t.notRegex(x.out, /lab egl-[0-9a-f]{6}: creating/, 'no lab was created');
});

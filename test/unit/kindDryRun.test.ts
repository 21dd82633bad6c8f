/** The kind backend's command plan (--dry-run) and probe scripts, checked without a Docker engine. */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { loadScenarioFile, SCENARIO_DIR } from '../../harness/scenario/load.ts';
import { kindPlan, renderPlan } from '../../harness/kind/dryRun.ts';
import { kindSkipReason } from '../../harness/kind/kindBackend.ts';
import { probeCommand } from '../../harness/kind/probeCommands.ts';
import { clusterIpChanges } from '../../harness/kind/manifests.ts';
import { installSettings, istioInstallCommands } from '../../harness/kind/clusterPlan.ts';

const kindScenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(f.replace(/\.yaml$/, '')))
  .filter((l) => kindSkipReason(l) === undefined);

/** The lines of a rendered plan that are commands (comments explain, commands run). */
const commandLines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

test('the plan for redis-7000-modern: every step a live run takes, in order', (t) => {
  const plan = kindPlan(loadScenarioFile('redis-7000-modern'));
  const text = commandLines(renderPlan(plan));
  const at = (re: RegExp) => text.findIndex((c) => re.test(c));
  const order = [
    /^kind get clusters$/,
    /^kind create cluster --name egress-lab --config kind-config\/cluster.yaml --wait 180s$/,
    /^kind load image-archive .*proxyv2_1\.31\.0\.tar --name egress-lab$/,
    /^istioctl install --context kind-egress-lab -y/,
    /^docker run -d --network kind .* -e 'REDIS_PORTS=7000 7001' -e REDIS_PASSWORD=s3cret-redis .*redis:7\.4 sh -c 'for p in \$REDIS_PORTS; do redis-server --port "\$p" .*wait'$/,
    /delete namespace -l egress-lab\.io\/scenario=redis-7000-modern --ignore-not-found --wait=true --timeout=180s$/,
    /apply -f - <<EOF/,
    /-n dev-self rollout status deploy\/sleep/,
    /-n dev-self get pods -l app=sleep -o json$/,
    /get services -A -l egress-lab\.io\/scenario=redis-7000-modern -o json$/,
    /exec -n dev-self '<sleep pod>' -c istio-proxy -- pilot-agent request GET config_dump$/,
    /^docker exec egress-lab-control-plane crictl pods --name '\^<sleep pod>\$' --namespace dev-self --state ready -q$/,
    /^docker exec egress-lab-control-plane crictl inspectp '<sleep sandbox>'$/,
    /^docker exec egress-lab-control-plane nsenter -t '<sleep pid>' -n conntrack -L$/,
    /pilot-agent request GET stats$/,
    /exec -n dev-self '<sleep pod>' -c app -- sh -c 'd=\$\(mktemp -d\); printf/,
    /logs -n dev-self '<sleep pod>' -c istio-proxy$/,
    /nsenter -t '<sleep pid>' -n iptables-nft-save$/,
    /nsenter -t '<sleep pid>' -n iptables-legacy-save$/,
  ];
  const positions = order.map(at);
  t.deepEqual(
    positions.filter((p) => p < 0),
    [],
    `missing: ${order.filter((_, i) => positions[i]! < 0).join(' ')}\n${text.join('\n')}`,
  );
  t.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
    'in the order a live run takes them',
  );
  t.true(
    text.at(-1)!.includes('delete namespace -l egress-lab.io/scenario=redis-7000-modern --ignore-not-found --wait=true'),
    'teardown waits',
  );
  t.deepEqual(plan.gates[0], {
    workload: 'sleep',
    listeners: ['0.0.0.0_7000'],
    clusters: ['outbound|7000||web-admin.ops.svc.cluster.local'],
    catchAll: 'PassthroughCluster',
  });
});

test('dry-run tells the truth: no lab address where a live cluster uses another, placeholders instead', (t) => {
  for (const loaded of kindScenarios) {
    const s = loaded.scenario;
    const mapped = [
      ...s.externalServers.map((x) => x.addresses[0]!),
      ...s.workloads.map((w) => w.ip),
      ...clusterIpChanges(s).map((c) => c.clusterIP),
    ];
    const rendered = renderPlan(kindPlan(loaded));
    const plan = kindPlan(loaded);
    // What a live run runs: the command lines, and the manifests it applies (bar the annotation that records the scenario's ClusterIP).
    const applied = plan.manifests.split('\n').filter((l) => !l.includes('egress-lab.io/lab-cluster-ip'));
    const live = [...commandLines(rendered), ...applied].join('\n');
    for (const a of mapped)
      t.false(
        new RegExp(`(?<![\\d.])${a.replace(/\./g, '\\.')}(?!\\d)`).test(live),
        `${s.name}: ${a} appears in a command a live run would run with another address`,
      );
    for (const srv of s.externalServers) t.true(rendered.includes(`<${srv.name}:addr>`), `${s.name}: ${srv.name}'s placeholder`);
    t.notRegex(rendered, /198\.51\.100\.|203\.0\.113\./, `${s.name}: no stand-in leaks`);
  }
});

test('dry-run of redis-7000-modern: the probes dial the server placeholder, and stats names follow it', (t) => {
  const text = renderPlan(kindPlan(loadScenarioFile('redis-7000-modern')));
  t.regex(text, /TCP:<redis-cluster:addr>:7001,connect-timeout=3,sourceport=<source port>/);
  t.regex(text, /# +external server redis-cluster: scenario 10\.0\.0\.6 -> <redis-cluster:addr>/);
  t.regex(text, /# +pod dev-self\/sleep: scenario 10\.64\.192\.14 -> <dev-self\/sleep:pod-ip>/);
});

test('seed-era scenarios are skipped on kind with the reason', (t) => {
  const legacy = loadScenarioFile('redis-7000');
  t.regex(kindSkipReason(legacy) ?? '', /assumes Istio 1\.4 .* installs Istio 1\.31\.0/);
  t.throws(() => kindPlan(legacy), { message: /cannot run 1\.4-1\.6 behaviour/ });
  t.is(kindSkipReason(loadScenarioFile('virtualservice-timeout')), undefined);
});

test("verbatim objects run on kind (the gate asks lab-istiod what istiod generates); objects' own creationTimestamp do not, a cluster sets them", (t) => {
  t.is(kindSkipReason(loadScenarioFile('httproute-mesh-service')), undefined);
  t.regex(
    kindSkipReason(loadScenarioFile('serviceentry-two-protocols-one-host')) ?? '',
    /gives creationTimestamp \(ServiceEntry .*a cluster's API server sets it itself/,
  );
});

test("a scenario's mesh config and istiod flags are in its plan's install overlay, run when istiod has other settings", (t) => {
  const loaded = loadScenarioFile('serviceentry-export-to-dot');
  const text = renderPlan(kindPlan(loaded));
  t.regex(text, /egress-lab\.io\/install-settings/);
  t.regex(text, /when istiod is not installed with these settings \(hash [0-9a-f]{16}\)/);
  // The plan shows stdin as <<EOF ... EOF; the overlay it stands for carries the scenario's policy.
  t.regex(istioInstallCommands(installSettings(loaded.scenario))[0]!.input ?? '', /mode: REGISTRY_ONLY/);
});

test("probe commands: kubectl exec into the app container, the kind's own script", (t) => {
  const redis = probeCommand(
    { kind: 'redis', host: '172.18.0.5', port: 7001, command: ['KEYS', '*'], timeoutMs: 3000 },
    'sleep-1',
    'dev-self',
    40001,
  );
  t.deepEqual(redis.args.slice(0, 11), [
    '--context',
    'kind-egress-lab',
    'exec',
    '-n',
    'dev-self',
    'sleep-1',
    '-c',
    'app',
    '--',
    'sh',
    '-c',
  ]);
  t.regex(redis.args.at(-1)!, /socat -d -d -T 3 STDIO,ignoreeof 'TCP:172\.18\.0\.5:7001,connect-timeout=3,sourceport=40001'/);
});

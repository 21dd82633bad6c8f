// The kind backend's cluster-level command plan, and one Istio minor on both backends.
import test from 'ava';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  clusterCommands,
  DEFAULT_INSTALL,
  deleteCommands,
  IMAGES,
  INSTALL_HASH_ANNOTATION,
  installHash,
  istioInstallCommands,
  istioOverlay,
  preloadCommands,
} from '../../harness/kind/clusterPlan.ts';
import { renderCommand, ISTIO_VERSION } from '../../harness/kind/plan.ts';
import { HTTPBIN_IMAGE } from '../../harness/servers/http.ts';
import { bothTitle } from '../../harness/run/suite.ts';
import type { ScenarioOutcome } from '../../harness/result/outcome.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const NODE_IMAGE = 'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5';

test('cluster.yaml is a kind v1alpha4 Cluster pinned to the node image digest', (t) => {
  const cfg = parse(readFileSync(join(repoRoot, 'kind-config/cluster.yaml'), 'utf8')) as Record<string, unknown>;
  t.is(cfg.kind, 'Cluster');
  t.is(cfg.apiVersion, 'kind.x-k8s.io/v1alpha4');
  t.is(cfg.name, 'egress-lab');
  t.deepEqual(cfg.networking, { ipFamily: 'ipv4', podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16', kubeProxyMode: 'iptables' });
  t.deepEqual(cfg.nodes, [{ role: 'control-plane', image: NODE_IMAGE }]);
});

test('clusterCommands: create and label when absent, nothing when ours, refuse a foreign cluster', (t) => {
  const fresh = clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: false, managed: false }).map(renderCommand);
  t.deepEqual(fresh, [
    'kind create cluster --name egress-lab --config kind-config/cluster.yaml --wait 180s',
    'kubectl --context kind-egress-lab label nodes --all egress-lab.io/managed=true --overwrite',
  ]);
  t.deepEqual(clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: true, managed: true }), []);
  const err = t.throws(() => clusterCommands({ configPath: 'kind-config/cluster.yaml', exists: true, managed: false }));
  t.regex(err.message, /egress-lab\.io\/managed=true/);
  t.regex(err.message, /kind delete cluster --name egress-lab/);
  t.deepEqual(deleteCommands().map(renderCommand), ['kind delete cluster --name egress-lab']);
});

test('istioInstallCommands: minimal profile, access log, ALLOW_ANY, the stats matcher, then waits for istiod and marks it', (t) => {
  const [install, wait, mark, ...rest] = istioInstallCommands();
  t.deepEqual(rest, []);
  t.is(install!.program, 'istioctl');
  const sets = install!.args.flatMap((a, i) => (install!.args[i - 1] === '--set' ? [a] : []));
  t.deepEqual(sets, ['profile=minimal']);
  t.true(install!.args.includes('-y'));
  t.deepEqual(install!.args.slice(-2), ['-f', '-']);
  const overlay = parse(install!.input ?? '') as {
    kind: string;
    spec: {
      meshConfig: {
        accessLogFile: string;
        outboundTrafficPolicy: { mode: string };
        defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: string[] } };
      };
      values?: unknown;
    };
  };
  t.is(overlay.kind, 'IstioOperator');
  t.is(overlay.spec.meshConfig.accessLogFile, '/dev/stdout');
  t.deepEqual(overlay.spec.meshConfig.outboundTrafficPolicy, { mode: 'ALLOW_ANY' });
  t.is(overlay.spec.values, undefined, 'no istiod flags by default');
  t.deepEqual(overlay.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes, [
    'cluster.PassthroughCluster',
    'cluster.BlackHoleCluster',
    'cluster.outbound|',
    'tcp.',
    'listener.',
    'http.',
    'http_inspector',
  ]);
  t.is(renderCommand(wait!), 'kubectl --context kind-egress-lab -n istio-system rollout status deploy/istiod --timeout=5m');
  t.is(
    renderCommand(mark!),
    `kubectl --context kind-egress-lab -n istio-system annotate --overwrite deploy/istiod ${INSTALL_HASH_ANNOTATION}=${installHash(DEFAULT_INSTALL)}`,
  );
});

test("a scenario's mesh config and istiod flags go into the install overlay, and change the install hash", (t) => {
  const settings = {
    meshConfig: {
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: ['own.'] } },
      enableTracing: false,
    },
    pilotEnv: { PILOT_HTTP10: 'true' },
  };
  const overlay = parse(istioOverlay(settings)) as {
    spec: {
      meshConfig: Record<string, unknown> & { defaultConfig: { proxyStatsMatcher: { inclusionPrefixes: string[] } } };
      values: unknown;
    };
  };
  t.deepEqual(overlay.spec.meshConfig.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' });
  t.is(overlay.spec.meshConfig.enableTracing, false);
  t.true(overlay.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes.includes('own.'));
  t.true(overlay.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes.includes('cluster.outbound|'));
  t.deepEqual(overlay.spec.values, { pilot: { env: { PILOT_HTTP10: 'true' } } });
  t.not(installHash(settings), installHash(DEFAULT_INSTALL));
  t.is(installHash({ meshConfig: {}, pilotEnv: {} }), installHash(DEFAULT_INSTALL), 'no settings is the default install');
});

test('preloadCommands: pull, save one platform, load the archive; the images are pinned', (t) => {
  const cmds = preloadCommands(['docker.io/istio/proxyv2:1.31.0'], { archiveDir: '/tmp/img', platform: 'linux/amd64' }).map(renderCommand);
  t.deepEqual(cmds, [
    'docker pull --platform linux/amd64 docker.io/istio/proxyv2:1.31.0',
    'docker image save --platform linux/amd64 -o /tmp/img/docker.io_istio_proxyv2_1.31.0.tar docker.io/istio/proxyv2:1.31.0',
    'kind load image-archive /tmp/img/docker.io_istio_proxyv2_1.31.0.tar --name egress-lab',
  ]);
  t.is(preloadCommands(IMAGES).length, IMAGES.length * 3);
  t.deepEqual(IMAGES.slice(0, 2), ['docker.io/istio/pilot:1.31.0', 'docker.io/istio/proxyv2:1.31.0']);
  t.true(IMAGES.includes(HTTPBIN_IMAGE));
  // A fixed tag on every image: ":latest" or no tag would mean imagePullPolicy Always on kind.
  for (const image of IMAGES) t.regex(image, /^docker\.io\/[\w.-]+\/[\w.-]+:(?!latest$)[\w.-]+$/, image);
});

const REPO = resolve(import.meta.dirname, '../..');

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

import test from 'ava';
import { readFileSync } from 'node:fs';
import { expectedConfig, missingConfig, waitForConfig, type ExpectedConfig, expectedFromDump } from '../../harness/evidence/configGate.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { toCamelCase } from '../../harness/views/proxyConfig.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import type { ProxyConfig } from '../../harness/model/types.ts';
import { effectiveScenario, type AddressMapping } from '../../harness/scenario/addressMapping.ts';
import { parseIstioVersion, type IstioVersion } from '../../harness/scenario/istioVersion.ts';
import { ISTIO_VERSION } from '../../harness/kind/plan.ts';

type Json = Record<string, unknown>;

function model(name: string, edit: (s: Scenario) => Scenario = (s) => s): ProxyConfig {
  const { scenario, istio } = loadScenarioFile(name);
  const s = edit(scenario);
  return buildProxyConfig(
    s,
    istio,
    s.workloads.find((w) => w.sidecar)!,
  );
}

/** What the kind backend does before building the model: lab addresses become Docker's. */
function substitute(from: string, to: string) {
  return (s: Scenario): Scenario => JSON.parse(JSON.stringify(s).split(from).join(to)) as Scenario;
}

const fixture = (f: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/kind/${f}`, import.meta.url), 'utf8')) as Json;

function listenersSection(dump: Json): Json {
  return (dump.configs as Json[]).find((c) => String(c['@type']).endsWith('.ListenersConfigDump'))!;
}

test('expectedConfig: listeners other than virtualOutbound, service clusters, and the catch-all of the policy', (t) => {
  t.deepEqual(expectedConfig(model('redis-7000-modern')), {
    listeners: ['0.0.0.0_7000'],
    clusters: ['outbound|7000||web-admin.ops.svc.cluster.local'],
    catchAll: 'PassthroughCluster',
  });
  t.is(expectedConfig(model('redis-7000-registry-only')).catchAll, 'BlackHoleCluster');
});

test('expectedConfig: VIP listeners use the substituted (container) address, not the lab one', (t) => {
  const e = expectedConfig(model('redis-7000-fix-serviceentry', substitute('10.0.0.6', '172.18.0.3')));
  t.deepEqual(e.listeners, ['0.0.0.0_7000', '172.18.0.3_7000', '172.18.0.3_7001', '172.18.0.3_7002', '172.18.0.3_7003']);
  t.false(e.listeners.some((l) => l.startsWith('10.0.0.6')));
  t.true(e.clusters.includes('outbound|7003||redis'));
  t.false(e.clusters.includes('PassthroughCluster'));
  t.false(e.clusters.includes('BlackHoleCluster'));
});

test("missingConfig: the model's own rendered dump has everything", (t) => {
  for (const name of ['redis-7000-modern', 'redis-7000-registry-only', 'mysql-3306-foreign-serviceentry']) {
    const m = model(name);
    t.deepEqual(missingConfig(renderConfigDump(m), expectedConfig(m)), [], name);
  }
});

test('missingConfig: a listener or cluster not yet pushed is named', (t) => {
  const m = model('mysql-3306-foreign-serviceentry');
  const dump = renderConfigDump(m) as Json;
  const ls = listenersSection(dump);
  ls.dynamic_listeners = (ls.dynamic_listeners as Json[]).filter((l) => l.name !== '0.0.0.0_3306');
  const cs = (dump.configs as Json[]).find((c) => String(c['@type']).endsWith('.ClustersConfigDump'))!;
  cs.dynamic_active_clusters = (cs.dynamic_active_clusters as Json[]).filter(
    (c) => (c.cluster as Json).name !== 'outbound|3306||mysql.demo',
  );
  t.deepEqual(missingConfig(dump, expectedConfig(m)), ['listener 0.0.0.0_3306', 'cluster outbound|3306||mysql.demo']);
});

test('missingConfig: an old catch-all (policy not propagated yet) is reported with what it still sends to', (t) => {
  const allowAny = renderConfigDump(model('redis-7000-modern'));
  const want = expectedConfig(model('redis-7000-registry-only'));
  t.deepEqual(missingConfig(allowAny, want), [
    'catch-all BlackHoleCluster: virtualOutbound-catchall-tcp still sends to PassthroughCluster',
  ]);
});

test('missingConfig: no virtualOutbound, or not a config_dump, is reported, not thrown', (t) => {
  const m = model('redis-7000-modern');
  const dump = renderConfigDump(m) as Json;
  const ls = listenersSection(dump);
  ls.dynamic_listeners = (ls.dynamic_listeners as Json[]).filter((l) => l.name !== 'virtualOutbound');
  t.deepEqual(missingConfig(dump, expectedConfig(m)), ['catch-all PassthroughCluster: no active virtualOutbound listener']);
  t.deepEqual(missingConfig({ stats: [] }, expectedConfig(m)), ['not an Envoy config_dump: no "configs" array']);
  t.deepEqual(missingConfig('{"configs":', expectedConfig(m)), ['not an Envoy config_dump: no "configs" array']);
});

test('missingConfig: istioctl -o json (camelCase) dumps are read too', (t) => {
  const m = model('redis-7000-fix-serviceentry');
  const camel = toCamelCase(renderConfigDump(m)) as Json;
  t.truthy(listenersSection(camel).dynamicListeners);
  t.deepEqual(missingConfig(camel, expectedConfig(m)), []);
});

test('missingConfig on a real Istio 1.30 dump excerpt: warming listeners and clusters have not landed', (t) => {
  const dump = fixture('config_dump-istio-1.30-excerpt.json');
  const expected: ExpectedConfig = {
    listeners: ['10.96.143.21_7000', '0.0.0.0_7000'],
    clusters: ['outbound|7000||rediscluster.egl-redis.svc.cluster.local', 'outbound|7000||web-admin.egl-other.svc.cluster.local'],
    catchAll: 'PassthroughCluster',
  };
  // 0.0.0.0_7000 exists only in warming_state and web-admin's cluster only in dynamic_warming_clusters.
  t.deepEqual(missingConfig(dump, expected), ['listener 0.0.0.0_7000', 'cluster outbound|7000||web-admin.egl-other.svc.cluster.local']);
  t.deepEqual(
    missingConfig(dump, {
      listeners: ['10.96.143.21_7000'],
      clusters: ['outbound|7000||rediscluster.egl-redis.svc.cluster.local'],
      catchAll: 'PassthroughCluster',
    }),
    [],
  );
  t.deepEqual(missingConfig(dump, { listeners: [], clusters: [], catchAll: 'BlackHoleCluster' }), [
    'catch-all BlackHoleCluster: virtualOutbound-catchall-tcp still sends to PassthroughCluster',
  ]);
});

test('missingConfig: the same listener, once active, counts', (t) => {
  const dump = fixture('config_dump-istio-1.30-excerpt.json');
  const entry = (listenersSection(dump).dynamic_listeners as Json[]).find((l) => l.name === '0.0.0.0_7000')!;
  entry.active_state = entry.warming_state;
  delete entry.warming_state;
  t.deepEqual(missingConfig(dump, { listeners: ['0.0.0.0_7000'], clusters: [], catchAll: 'PassthroughCluster' }), []);
});

/** A clock that only moves when the code under test sleeps. */
function fakeClock(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    elapsed: () => now - start,
    now: () => now,
    sleep: (ms: number): Promise<void> => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

test('waitForConfig: a dump that becomes complete on the third poll passes after 3 polls and 2 sleeps', async (t) => {
  const m = model('redis-7000-fix-serviceentry');
  const full = renderConfigDump(m) as Json;
  const partial = JSON.parse(JSON.stringify(full)) as Json;
  const ls = listenersSection(partial);
  ls.dynamic_listeners = (ls.dynamic_listeners as Json[]).filter((l) => !String(l.name).startsWith('10.0.0.6'));
  const dumps = [{ configs: [] }, partial, full];
  let fetched = 0;
  const clock = fakeClock();
  const r = await waitForConfig(() => Promise.resolve(dumps[Math.min(fetched++, dumps.length - 1)]), expectedConfig(m), {
    timeoutMs: 10_000,
    intervalMs: 500,
    ...clock,
  });
  t.deepEqual(r, { ok: true, polls: 3 });
  t.is(fetched, 3);
  t.deepEqual(clock.sleeps, [500, 500]);
  t.is(clock.elapsed(), 1000);
});

test('waitForConfig: gives up at the timeout with what is still missing; the last sleep is cut to the deadline', async (t) => {
  const clock = fakeClock();
  const want: ExpectedConfig = { listeners: ['0.0.0.0_7000'], clusters: [], catchAll: 'BlackHoleCluster' };
  const stale = renderConfigDump(model('redis-7000-modern'));
  const r = await waitForConfig(() => Promise.resolve(stale), want, { timeoutMs: 1200, intervalMs: 500, ...clock });
  t.deepEqual(r, {
    ok: false,
    polls: 4,
    missing: ['catch-all BlackHoleCluster: virtualOutbound-catchall-tcp still sends to PassthroughCluster'],
  });
  t.deepEqual(clock.sleeps, [500, 500, 200]);
  t.is(clock.elapsed(), 1200);
});

test('waitForConfig: a fetch that throws is a poll that found nothing, not an abort', async (t) => {
  const m = model('redis-7000-modern');
  let n = 0;
  const clock = fakeClock();
  const fetch = () => {
    if (n++ === 0) return Promise.reject(new Error('container "istio-proxy" is not ready'));
    return Promise.resolve(renderConfigDump(m));
  };
  t.deepEqual(await waitForConfig(fetch, expectedConfig(m), { timeoutMs: 5000, intervalMs: 250, ...clock }), { ok: true, polls: 2 });
  const never = await waitForConfig(async () => Promise.reject(new Error('exec failed')), expectedConfig(m), {
    timeoutMs: 0,
    intervalMs: 250,
    ...fakeClock(),
  });
  t.deepEqual(never, { ok: false, polls: 1, missing: ['config_dump unavailable: exec failed'] });
});

const installed = parseIstioVersion(ISTIO_VERSION) as IstioVersion;

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

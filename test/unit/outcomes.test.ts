import test from 'ava';
import { expandOutcome, withOutcome } from '../../harness/scenario/outcomes.ts';
import { loadScenarioFile, parseScenario, ScenarioError } from '../../harness/scenario/load.ts';

const tcp7001 = { host: '10.0.0.6', port: 7001, sendsFirst: true };
const http80 = { host: 'httpbin.org', port: 80, scheme: 'http' as const, sendsFirst: true };

test('passthrough: two legs, the second to the dialled address, PassthroughCluster +1 (modern names carry ";")', (t) => {
  t.deepEqual(expandOutcome('passthrough', tcp7001, 'modern'), {
    conntrack: { path: 'redirected', legs: 2, upstream: '10.0.0.6:7001' },
    stats: { 'cluster.PassthroughCluster;.upstream_cx_total': '+1' },
  });
  t.deepEqual(expandOutcome('passthrough', tcp7001, 'legacy').stats, { 'cluster.PassthroughCluster.upstream_cx_total': '+1' });
});

test('plain HTTP counts requests (the HCM pools upstream connections); a name gives no upstream address to check', (t) => {
  t.deepEqual(expandOutcome('passthrough', http80, 'modern'), {
    conntrack: { path: 'redirected', legs: 2 },
    stats: { 'cluster.PassthroughCluster;.upstream_rq_total': '+1' },
  });
  const https = { ...http80, port: 443, scheme: 'https' as const };
  t.deepEqual(expandOutcome('passthrough', https, 'modern').stats, { 'cluster.PassthroughCluster;.upstream_cx_total': '+1' });
});

test('blackhole: one leg, no upstream; TCP through BlackHoleCluster, HTTP never reaches PassthroughCluster', (t) => {
  t.deepEqual(expandOutcome('blackhole', tcp7001, 'modern'), {
    conntrack: { path: 'redirected', legs: 1, upstream: 'none' },
    stats: { 'cluster.BlackHoleCluster;.upstream_cx_none_healthy': '+1' },
  });
  t.deepEqual(expandOutcome('blackhole', http80, 'legacy').stats, { 'cluster.PassthroughCluster.upstream_rq_total': '+0' });
});

test('local-reply, direct and service differ in the path and the legs', (t) => {
  t.deepEqual(expandOutcome('local-reply', tcp7001, 'legacy').conntrack, { path: 'redirected', legs: 1, upstream: 'none' });
  t.deepEqual(expandOutcome('direct', tcp7001, 'legacy').conntrack, { path: 'direct', legs: 1, upstream: 'none' });
  t.deepEqual(expandOutcome('service', tcp7001, 'modern'), {
    conntrack: { path: 'redirected', legs: 2 },
    stats: { 'cluster.PassthroughCluster;.upstream_cx_total': '+0' },
  });
});

test('what the scenario writes itself wins over the expansion, and its stats are added', (t) => {
  const e = withOutcome(
    {
      outcome: 'passthrough' as const,
      conntrack: { upstream: '10.0.0.7:7001' },
      stats: { 'cluster.PassthroughCluster;.upstream_cx_total': '>=1', 'x.y': '+1' },
    },
    tcp7001,
    'modern',
  );
  t.deepEqual(e.conntrack, { path: 'redirected', legs: 2, upstream: '10.0.0.7:7001' });
  t.deepEqual(e.stats, { 'cluster.PassthroughCluster;.upstream_cx_total': '>=1', 'x.y': '+1' });
  t.deepEqual(withOutcome({ stats: { a: '+1' } }, tcp7001, 'modern'), { stats: { a: '+1' } }, 'no outcome: unchanged');
});

test('redis-7000.yaml: each port states its outcome once and loads with the full conntrack and stats checks', (t) => {
  const probes = loadScenarioFile('redis-7000').scenario.probes;
  const nc7002 = probes.find((p) => p.name === 'nc-7002')!;
  t.is(nc7002.expect.outcome, 'passthrough');
  t.deepEqual(nc7002.expect.conntrack, { path: 'redirected', legs: 2, upstream: '10.0.0.6:7002' });
  t.deepEqual(nc7002.expect.stats, { 'cluster.PassthroughCluster.upstream_cx_total': '+1' });
  const nc7000 = probes.find((p) => p.name === 'nc-7000')!;
  t.deepEqual(nc7000.expect.conntrack, { path: 'redirected', legs: 1, upstream: 'none' });
  t.is(nc7000.expect.stats?.['cluster.PassthroughCluster.upstream_cx_total'], '+0');
  t.is(nc7000.expect.stats?.['listener.0.0.0.0_7000.downstream_cx_total'], '+1');
});

test('an unknown outcome is a load error on its line, listing the named ones', (t) => {
  const text =
    'name: inline\ndescription: x\nistio: "1.30"\nworkloads:\n  - name: sleep\n    ip: 10.64.192.14\nprobes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect:\n      outcome: passthru\n';
  const err = t.throws(() => parseScenario(text, 'x.yaml'), { instanceOf: ScenarioError });
  t.regex(err.message, /x\.yaml:12: probes\[0\]\.expect\.outcome: .*"passthrough"\|"blackhole"\|"local-reply"\|"direct"\|"service"/);
});

import test from 'ava';
import {
  StatsStore,
  clusterStat,
  diffStats,
  httpStat,
  listenerStat,
  parseStatsJson,
  parseStatsText,
  statsDelimiter,
  tcpStat,
} from '../../harness/core/stats.ts';

test('store: absent is 0, inc and set', (t) => {
  const s = new StatsStore();
  t.is(s.get('cluster.PassthroughCluster;.upstream_cx_total'), 0);
  s.inc('cluster.PassthroughCluster;.upstream_cx_total');
  s.inc('cluster.PassthroughCluster;.upstream_cx_total', 2);
  s.set('cluster.PassthroughCluster;.upstream_cx_active', 1);
  t.is(s.get('cluster.PassthroughCluster;.upstream_cx_total'), 3);
  t.is(s.get('cluster.PassthroughCluster;.upstream_cx_active'), 1);
  t.is(s.snapshot().size, 2);
});

test('store: snapshot is a copy', (t) => {
  const s = new StatsStore();
  s.inc('a');
  const snap = s.snapshot();
  s.inc('a');
  t.is(snap.get('a'), 1);
  t.is(s.get('a'), 2);
});

test('store: reset zeroes counters, keeps their names, and leaves gauges', (t) => {
  const s = new StatsStore();
  s.inc('tcp.BlackHoleCluster.downstream_cx_total', 4);
  s.inc('listener.0.0.0.0_15001.downstream_cx_total');
  s.set('listener.0.0.0.0_15001.downstream_cx_active', 2);
  s.reset();
  t.deepEqual(
    [...s.snapshot()],
    [
      ['tcp.BlackHoleCluster.downstream_cx_total', 0],
      ['listener.0.0.0.0_15001.downstream_cx_total', 0],
      ['listener.0.0.0.0_15001.downstream_cx_active', 2],
    ],
  );
});

test('store: renderText sorts in byte order with a trailing newline', (t) => {
  const s = new StatsStore();
  s.inc('tcp.PassthroughCluster.downstream_cx_total');
  s.inc('cluster.outbound|7000||redis.ns.svc.cluster.local;.upstream_cx_total', 3);
  s.inc('cluster.PassthroughCluster;.upstream_cx_total');
  s.inc('cluster.PassthroughCluster.upstream_cx_total');
  s.inc('cluster.BlackHoleCluster;.upstream_cx_none_healthy');
  t.is(
    s.renderText(),
    [
      'cluster.BlackHoleCluster;.upstream_cx_none_healthy: 1',
      'cluster.PassthroughCluster.upstream_cx_total: 1',
      'cluster.PassthroughCluster;.upstream_cx_total: 1',
      'cluster.outbound|7000||redis.ns.svc.cluster.local;.upstream_cx_total: 3',
      'tcp.PassthroughCluster.downstream_cx_total: 1',
      '',
    ].join('\n'),
  );
  t.is(new StatsStore().renderText(), '');
});

test('store: renderText round-trips through parseStatsText', (t) => {
  const s = new StatsStore();
  s.inc('cluster.outbound|7000||redis;.upstream_cx_total', 3);
  s.inc('listener.10.96.3.7_6379.downstream_cx_total');
  t.deepEqual(parseStatsText(s.renderText()), s.snapshot());
});

test('names: both eras', (t) => {
  t.is(statsDelimiter('modern'), ';');
  t.is(statsDelimiter('legacy'), '');
  t.is(clusterStat('PassthroughCluster', 'upstream_cx_total', 'modern'), 'cluster.PassthroughCluster;.upstream_cx_total');
  t.is(clusterStat('PassthroughCluster', 'upstream_cx_total', 'legacy'), 'cluster.PassthroughCluster.upstream_cx_total');
  t.is(clusterStat('BlackHoleCluster', 'upstream_cx_none_healthy', 'legacy'), 'cluster.BlackHoleCluster.upstream_cx_none_healthy');
  t.is(
    clusterStat('outbound|443||kubernetes.default.svc.cluster.local', 'upstream_rq_retry', 'modern'),
    'cluster.outbound|443||kubernetes.default.svc.cluster.local;.upstream_rq_retry',
  );
  t.is(tcpStat('PassthroughCluster', 'downstream_cx_total'), 'tcp.PassthroughCluster.downstream_cx_total');
  t.is(
    tcpStat('outbound|7000||redis.ns.svc.cluster.local', 'downstream_cx_total'),
    'tcp.outbound|7000||redis.ns.svc.cluster.local.downstream_cx_total',
  );
  t.is(listenerStat('0.0.0.0_15001', 'downstream_cx_active'), 'listener.0.0.0.0_15001.downstream_cx_active');
  t.is(httpStat('outbound_0.0.0.0_80', 'downstream_rq_5xx', 'modern'), 'http.outbound_0.0.0.0_80;.downstream_rq_5xx');
  t.is(httpStat('outbound_0.0.0.0_80', 'downstream_rq_5xx', 'legacy'), 'http.outbound_0.0.0.0_80.downstream_rq_5xx');
});

// Shape of a real `curl localhost:15000/stats` with inclusion widened: counters/gauges, then histograms.
const STATS_TEXT = `cluster.BlackHoleCluster;.upstream_cx_none_healthy: 2
cluster.PassthroughCluster;.upstream_cx_active: 0
cluster.PassthroughCluster;.upstream_cx_total: 5
cluster.outbound|7000||redis.default.svc.cluster.local;.upstream_cx_total: 3
cluster.xds-grpc.upstream_cx_total: 1
http.outbound_0.0.0.0_80;.downstream_rq_5xx: 1
http_inspector.http11_found: 4
listener.0.0.0.0_15001.downstream_cx_total: 7
listener.[::]:15001.downstream_cx_total: 1
server.uptime: 5321
tcp.PassthroughCluster.downstream_cx_total: 5
cluster.PassthroughCluster;.upstream_cx_connect_ms: P0(nan,0) P25(nan,0) P50(nan,1.05) P75(nan,1.075) P90(nan,2.09) P95(nan,2.095) P99(nan,2.099) P99.5(nan,2.0995) P99.9(nan,2.0999) P100(nan,2.1)
cluster.PassthroughCluster;.upstream_cx_length_ms: No recorded values
listener.0.0.0.0_15001.downstream_cx_length_ms: P0(1,0) P25(1.025,0) P50(1.05,1.05) P75(1.075,1.075) P90(1.09,2.09) P95(1.095,2.095) P99(1.099,2.099) P99.5(1.0995,2.0995) P99.9(1.0999,2.0999) P100(1.1,2.1)
`;

test('parseStatsText: numeric stats, names with | ; : kept whole, histograms skipped', (t) => {
  const m = parseStatsText(STATS_TEXT);
  t.is(m.size, 11);
  t.is(m.get('cluster.outbound|7000||redis.default.svc.cluster.local;.upstream_cx_total'), 3);
  t.is(m.get('cluster.BlackHoleCluster;.upstream_cx_none_healthy'), 2);
  t.is(m.get('listener.[::]:15001.downstream_cx_total'), 1);
  t.is(m.get('cluster.PassthroughCluster;.upstream_cx_active'), 0);
  t.false(m.has('cluster.PassthroughCluster;.upstream_cx_connect_ms'));
  t.false(m.has('cluster.PassthroughCluster;.upstream_cx_length_ms'));
});

test('parseStatsText: tolerates CRLF, blank lines and text readouts', (t) => {
  const m = parseStatsText('a.b: 1\r\n\r\nserver.version: "1.4.8/..."\r\nnot a stat\r\nc.d: 2.5\r\n');
  t.deepEqual(
    [...m],
    [
      ['a.b', 1],
      ['c.d', 2.5],
    ],
  );
});

test('parseStatsJson: values, skipping histograms and text readouts', (t) => {
  const json = {
    stats: [
      { name: 'cluster.PassthroughCluster;.upstream_cx_total', value: 5 },
      { value: 0, name: 'cluster.BlackHoleCluster;.upstream_cx_none_healthy' },
      { name: 'server.version', value: '5d1d8f4/1.4.8/Clean/RELEASE/BoringSSL' },
      {
        histograms: {
          supported_quantiles: [0, 25, 50],
          computed_quantiles: [{ name: 'cluster.x.upstream_cx_length_ms', values: [{ interval: null, cumulative: 1 }] }],
        },
      },
    ],
  };
  t.deepEqual(
    [...parseStatsJson(json)],
    [
      ['cluster.PassthroughCluster;.upstream_cx_total', 5],
      ['cluster.BlackHoleCluster;.upstream_cx_none_healthy', 0],
    ],
  );
  t.is(parseStatsJson(JSON.parse(JSON.stringify(json))).size, 2);
});

test('parseStatsJson: garbage in, empty map out', (t) => {
  t.is(parseStatsJson(null).size, 0);
  t.is(parseStatsJson({ stats: 'nope' }).size, 0);
  t.is(parseStatsJson([1, 2]).size, 0);
});

test('diffStats: deltas of changed names only, absent = 0', (t) => {
  const before = new Map([
    ['a', 1],
    ['same', 4],
    ['gone', 2],
  ]);
  const after = new Map([
    ['a', 3],
    ['same', 4],
    ['new', 5],
    ['zero', 0],
  ]);
  t.deepEqual([...diffStats(before, after)].sort(), [
    ['a', 2],
    ['gone', -2],
    ['new', 5],
  ]);
});

test('diffStats after a reset reads the probe directly', (t) => {
  const s = new StatsStore();
  s.inc(clusterStat('PassthroughCluster', 'upstream_cx_total', 'modern'), 9);
  s.reset();
  const before = s.snapshot();
  s.inc(clusterStat('PassthroughCluster', 'upstream_cx_total', 'modern'));
  s.inc(tcpStat('PassthroughCluster', 'downstream_cx_total'));
  t.deepEqual(
    [...diffStats(before, s.snapshot())],
    [
      ['cluster.PassthroughCluster;.upstream_cx_total', 1],
      ['tcp.PassthroughCluster.downstream_cx_total', 1],
    ],
  );
});

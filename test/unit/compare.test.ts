import test from 'ava';
import {
  compareOutcomes,
  conntrackShape,
  renderComparison,
  KIND_STAT_PREFIXES,
  LAB_STAT_PATTERNS,
  type ProbeDiff,
  maskMysqlGreeting,
} from '../../harness/result/compare.ts';
import { clusterStat, httpStat, listenerStat, tcpStat } from '../../harness/core/stats.ts';
import { parseConntrack, type ProbeLegs } from '../../harness/evidence/conntrack.ts';
import { probeSchema, type Probe } from '../../harness/scenario/schema.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../../harness/result/outcome.ts';
import type { ProbeResult } from '../../harness/probes/result.ts';

const probe = (name: string): Probe => probeSchema.parse({ name, from: 'sleep', tcp: { host: '10.0.0.6', port: 7001 }, expect: {} });

const NOAUTH = '-NOAUTH Authentication required.\r\n';

function result(over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    kind: 'tcp',
    target: '10.0.0.6:7001',
    connect: 'ok',
    received: NOAUTH,
    receivedBytes: NOAUTH.length,
    end: 'idle',
    errorClass: 'none',
    durationMs: 1500,
    ...over,
  };
}

/** A redirected client leg plus Envoy's direct upstream leg (lab addresses). */
function legs(pod: string, server: string, opts: { upstream?: boolean; redirected?: boolean } = {}): ProbeLegs {
  const { upstream = true, redirected = true } = opts;
  const client = redirected
    ? `tcp 6 431999 ESTABLISHED src=${pod} dst=${server} sport=40000 dport=7001 src=127.0.0.1 dst=${pod} sport=15001 dport=40000 [ASSURED] mark=0 use=1`
    : `tcp 6 431999 ESTABLISHED src=${pod} dst=${server} sport=40000 dport=7001 src=${server} dst=${pod} sport=7001 dport=40000 [ASSURED] mark=0 use=1`;
  const up = `tcp 6 431999 ESTABLISHED src=${pod} dst=${server} sport=40002 dport=7001 src=${server} dst=${pod} sport=7001 dport=40002 [ASSURED] mark=0 use=1`;
  const [c, u] = parseConntrack(`${client}\n${up}\n`);
  return { client: c, others: upstream ? [u!] : [] };
}

function outcome(name: string, over: Partial<ProbeOutcome> = {}): ProbeOutcome {
  return { probe: probe(name), result: result(), checks: [], ok: true, ...over };
}

function scenario(probes: ProbeOutcome[], over: Partial<ScenarioOutcome> = {}): ScenarioOutcome {
  return {
    name: 'redis-7000-modern',
    ok: true,
    runDir: '/tmp/x',
    backend: 'netns/model',
    probes,
    podChecks: [],
    durationMs: 1,
    timings: { upMs: 0, probesMs: 0, downMs: 0 },
    ...over,
  };
}

const PASS = 'cluster.PassthroughCluster;.upstream_cx_total';
const TCP = 'tcp.PassthroughCluster.downstream_cx_total';

test('identical evidence on both sides agrees, with short agree lines', (t) => {
  const stats = Object.fromEntries([
    [PASS, 1],
    [TCP, 1],
  ]);
  const lab = scenario([outcome('nc-7001', { legs: legs('10.64.192.14', '10.0.0.6'), statsDiff: stats })]);
  // kind has other addresses (Docker's), which are not compared.
  const kind = scenario([outcome('nc-7001', { legs: legs('10.244.0.12', '172.18.0.3'), statsDiff: { ...stats } })]);
  const [d] = compareOutcomes(lab, kind);
  t.true(d!.agree);
  t.deepEqual(d!.differences, []);
  t.deepEqual(
    d!.agreed.map((a) => a.aspect),
    ['outcome', 'bytes', 'conntrack', 'stats'],
  );
  const text = renderComparison([d!]);
  t.is(
    text,
    [
      '= nc-7001: agree',
      '    outcome: connect ok, end idle, errorClass none',
      `    bytes: 34 bytes ${JSON.stringify(NOAUTH)}`,
      '    conntrack: 2 leg(s), client redirected to 15001, upstream present',
      '    stats: 2 stat(s) moved alike',
      'lab and kind agree on all 1 probe(s)',
      '',
    ].join('\n'),
  );
});

test('outcome and bytes differences carry both values', (t) => {
  const lab = scenario([
    outcome('nc-7000', { result: result({ received: 'HTTP/1.1 400 Bad Request\r\n\r\n', receivedBytes: 28, end: 'eof' }) }),
  ]);
  const kind = scenario([outcome('nc-7000', { result: result({ end: 'reset', errorClass: 'reset' }) })]);
  const [d] = compareOutcomes(lab, kind);
  t.false(d!.agree);
  t.deepEqual(d!.differences, [
    { aspect: 'outcome', field: 'end', lab: 'eof', kind: 'reset' },
    { aspect: 'outcome', field: 'errorClass', lab: 'none', kind: 'reset' },
    { aspect: 'bytes', field: 'received', lab: JSON.stringify('HTTP/1.1 400 Bad Request\r\n\r\n'), kind: JSON.stringify(NOAUTH) },
    { aspect: 'bytes', field: 'length', lab: '28', kind: '34' },
  ]);
});

test('same length but different text is a difference; exitCode and httpStatus are compared for curl', (t) => {
  const lab = scenario([
    outcome('c', { result: result({ kind: 'http', received: 'abcd', receivedBytes: 4, exitCode: 0, httpStatus: 502 }) }),
  ]);
  const kind = scenario([
    outcome('c', { result: result({ kind: 'http', received: 'abce', receivedBytes: 4, exitCode: 0, httpStatus: 200 }) }),
  ]);
  const [d] = compareOutcomes(lab, kind);
  t.deepEqual(
    d!.differences.map((x) => `${x.aspect}.${x.field}: ${x.lab} | ${x.kind}`),
    ['outcome.httpStatus: 502 | 200', 'bytes.received: "abcd" | "abce"'],
  );
});

test('conntrack shape: legs, redirected or direct, upstream present', (t) => {
  t.deepEqual(conntrackShape(legs('10.64.192.14', '10.0.0.6')), { legs: 2, client: 'redirected to 15001', upstream: true });
  t.deepEqual(conntrackShape(legs('10.64.192.14', '10.0.0.6', { redirected: false, upstream: false })), {
    legs: 1,
    client: 'direct',
    upstream: false,
  });
  t.deepEqual(conntrackShape({ others: [] }), { legs: 0, client: 'absent', upstream: false });
  const lab = scenario([outcome('nc-7001', { legs: legs('10.64.192.14', '10.0.0.6') })]);
  const kind = scenario([outcome('nc-7001', { legs: legs('10.244.0.12', '172.18.0.3', { upstream: false }) })]);
  const [d] = compareOutcomes(lab, kind);
  t.deepEqual(d!.differences, [
    { aspect: 'conntrack', field: 'legs', lab: '2', kind: '1' },
    { aspect: 'conntrack', field: 'upstream leg', lab: 'present', kind: 'absent' },
  ]);
  const direct = compareOutcomes(lab, scenario([outcome('nc-7001', { legs: legs('10.244.0.12', '172.18.0.3', { redirected: false }) })]));
  t.deepEqual(direct[0]!.differences, [{ aspect: 'conntrack', field: 'client leg', lab: 'redirected to 15001', kind: 'direct' }]);
});

test('stats: deltas compared with absent as 0; names one side cannot have are listed apart', (t) => {
  const lab = Object.fromEntries([
    [PASS, 1],
    ['cluster.BlackHoleCluster;.upstream_cx_total', 1],
    ['listener.0.0.0.0_7000.downstream_cx_total', 1],
  ]);
  const kind = Object.fromEntries([
    [PASS, 1],
    [TCP, 1], // the model can emit this one: absent on the lab side means 0, a real difference
    ['cluster.PassthroughCluster;.upstream_cx_destroy_remote', 1], // real Envoy only
    ['server.uptime', 12], // real Envoy only
    ['cluster.xds-grpc.upstream_rq_total', 2],
    ['listener.0.0.0.0_7000.downstream_cx_total', 1],
  ]);
  const [d] = compareOutcomes(scenario([outcome('p', { statsDiff: lab })]), scenario([outcome('p', { statsDiff: kind })]));
  t.deepEqual(d!.differences, [
    { aspect: 'stats', field: 'cluster.BlackHoleCluster;.upstream_cx_total', lab: '+1', kind: '0' },
    { aspect: 'stats', field: TCP, lab: '0', kind: '+1' },
  ]);
  t.deepEqual(d!.oneSidedStats.lab, []);
  t.deepEqual(d!.oneSidedStats.kind, [
    { name: 'cluster.PassthroughCluster;.upstream_cx_destroy_remote', delta: 1 },
    { name: 'cluster.xds-grpc.upstream_rq_total', delta: 2 },
    { name: 'server.uptime', delta: 12 },
  ]);
  t.false(d!.agreed.some((a) => a.aspect === 'stats'));
});

test("stats: a lab stat kind's inclusion list drops is lab-only, not a difference", (t) => {
  const lab = Object.fromEntries([
    ['http_connection_manager_x.weird', 1],
    [PASS, 1],
  ]);
  const [d] = compareOutcomes(
    scenario([outcome('p', { statsDiff: lab })]),
    scenario([outcome('p', { statsDiff: Object.fromEntries([[PASS, 1]]) })]),
    {
      labCanHave: () => true,
    },
  );
  t.true(d!.agree);
  t.deepEqual(d!.oneSidedStats.lab, [{ name: 'http_connection_manager_x.weird', delta: 1 }]);
  t.regex(renderComparison([d!]), /lab-only stats \(the other side cannot have them, not compared\): http_connection_manager_x\.weird \+1/);
});

test('a probe that did not run on one side, or is missing there, is a difference with the reason', (t) => {
  const lab = scenario([outcome('a'), outcome('b')]);
  const kind = scenario([outcome('a', { result: undefined, error: 'kubectl exec: pod not found', ok: false })], {
    error: 'config never landed',
  });
  const diffs = compareOutcomes(lab, kind);
  t.deepEqual(
    diffs.map((d) => [d.probe, d.agree, d.differences]),
    [
      ['a', false, [{ aspect: 'run', field: 'result', lab: 'ran', kind: 'did not run: kubectl exec: pod not found' }]],
      ['b', false, [{ aspect: 'run', field: 'probe', lab: 'ran', kind: 'not run: config never landed' }]],
    ],
  );
  const onlyKind = compareOutcomes(scenario([]), scenario([outcome('c')]));
  t.deepEqual(onlyKind[0]!.differences, [{ aspect: 'run', field: 'probe', lab: 'not run', kind: 'ran' }]);
});

test('renderComparison: a disagreeing probe shows both sides and what still agreed; the last line counts', (t) => {
  const lab = scenario([
    outcome('nc-7000', {
      result: result({ end: 'eof' }),
      legs: legs('10.64.192.14', '10.0.0.6'),
      statsDiff: Object.fromEntries([[PASS, 1]]),
    }),
    outcome('nc-7001', { legs: legs('10.64.192.14', '10.0.0.6'), statsDiff: Object.fromEntries([[PASS, 1]]) }),
  ]);
  const kind = scenario([
    outcome('nc-7000', {
      result: result({ end: 'reset' }),
      legs: legs('10.244.0.12', '172.18.0.3'),
      statsDiff: Object.fromEntries([[PASS, 2]]),
    }),
    outcome('nc-7001', { legs: legs('10.244.0.12', '172.18.0.3'), statsDiff: Object.fromEntries([[PASS, 1]]) }),
  ]);
  const diffs: ProbeDiff[] = compareOutcomes(lab, kind);
  const text = renderComparison(diffs);
  const block = text.split('\n= nc-7001')[0]!;
  t.is(
    block,
    [
      '≠ nc-7000: 2 difference(s)',
      '    ✗ outcome end: lab eof | kind reset',
      `    ✗ stats ${PASS}: lab +1 | kind +2`,
      `    = bytes: 34 bytes ${JSON.stringify(NOAUTH)}`,
      '    = conntrack: 2 leg(s), client redirected to 15001, upstream present',
    ].join('\n'),
  );
  t.true(text.includes('= nc-7001: agree\n'));
  t.true(text.endsWith('lab and kind disagree on 1 of 2 probe(s)\n'));
  t.is(renderComparison([]), 'no probes to compare\n');
});

test("the default vocabularies: the model's stat names are comparable, real-Envoy-only families are not", (t) => {
  const lab = (n: string) => LAB_STAT_PATTERNS.some((p) => p.test(n));
  const kind = (n: string) => KIND_STAT_PREFIXES.some((p) => n.startsWith(p));
  const modelNames = [
    clusterStat('PassthroughCluster', 'upstream_cx_total', 'modern'),
    clusterStat('BlackHoleCluster', 'upstream_cx_total', 'legacy'),
    clusterStat('outbound|7000||web-admin.ops.svc.cluster.local', 'upstream_cx_connect_fail', 'modern'),
    clusterStat('outbound|80||httpbin.org', 'upstream_rq_504', 'modern'),
    tcpStat('PassthroughCluster', 'downstream_cx_total'),
    tcpStat('outbound|3306||mysql.demo', 'downstream_cx_total'),
    listenerStat('0.0.0.0_7000', 'downstream_cx_total'),
    httpStat('outbound_0.0.0.0_80', 'downstream_rq_5xx', 'modern'),
    'http_inspector.http_not_found',
    'http_inspector.http11_found',
  ];
  for (const n of modelNames) {
    t.true(lab(n), `lab: ${n}`);
    t.true(kind(n), `kind: ${n}`);
  }
  for (const n of [
    'cluster.xds-grpc.upstream_cx_total',
    'cluster.PassthroughCluster;.upstream_cx_active',
    'server.uptime',
    'cluster_manager.cds.update_success',
  ])
    t.false(lab(n), n);
  t.false(kind('cluster.sds-grpc.upstream_cx_total'));
  t.false(kind('vhost.80.vcluster.other.upstream_rq_retry'));
});

test('an outcome the scenario declares a race (end: [eof, reset]) agrees whichever side won; an undeclared one differs', (t) => {
  const raced = (name: string, end: ProbeResult['end'], expectEnd: unknown) =>
    outcome(name, {
      probe: probeSchema.parse({ name, from: 'sleep', tcp: { host: '10.0.0.6', port: 7001 }, expect: { client: { end: expectEnd } } }),
      result: result({ end, errorClass: end }),
    });
  const [race] = compareOutcomes(scenario([raced('nc', 'eof', ['eof', 'reset'])]), scenario([raced('nc', 'reset', ['eof', 'reset'])]));
  t.true(race!.agree);
  t.regex(race!.agreed[0]!.summary, /end eof\/reset \(a declared race\)/);
  const [strict] = compareOutcomes(scenario([raced('nc', 'eof', 'eof')]), scenario([raced('nc', 'reset', 'eof')]));
  t.false(strict!.agree);
  t.deepEqual(
    strict!.differences.map((x) => x.field),
    ['end', 'errorClass'],
  );
});

test('byte counters that moved on both sides agree; one that moved on one side only differs', (t) => {
  const rx = 'cluster.PassthroughCluster;.upstream_cx_rx_bytes_total';
  const [both] = compareOutcomes(
    scenario([outcome('a', { statsDiff: Object.fromEntries([[rx, 2364]]) })]),
    scenario([outcome('a', { statsDiff: Object.fromEntries([[rx, 2361]]) })]),
  );
  t.true(both!.agree);
  const [one] = compareOutcomes(
    scenario([outcome('a', { statsDiff: Object.fromEntries([[rx, 0]]) })]),
    scenario([outcome('a', { statsDiff: Object.fromEntries([[rx, 2361]]) })]),
  );
  t.false(one!.agree);
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

import test from 'ava';
import {
  checkClient,
  checkConntrack,
  checkIptablesSave,
  checkProbe,
  checkStats,
  type Check,
  statScope,
} from '../../harness/result/assertions.ts';
import { parseConntrack, type ConntrackEntry, type ProbeLegs } from '../../harness/evidence/conntrack.ts';
import type { ProbeResult } from '../../harness/probes/result.ts';
import { expectSchema, podAssertionSchema } from '../../harness/scenario/schema.ts';

// Seed 000: the 7000 connection the sidecar answered itself (only the client's leg, redirected to 15001).
const SEED_7000 =
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=50498 dport=7000 src=127.0.0.1 dst=10.64.192.14 sport=15001 dport=50498 [ASSURED] mark=0 zone=0 use=2';
// A passthrough: the client's redirected leg plus Envoy's own leg to the real server.
const PASS_7003 = [
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=50500 dport=7003 src=127.0.0.1 dst=10.64.192.14 sport=15001 dport=50500 [ASSURED] mark=0 zone=0 use=2',
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=41234 dport=7003 src=10.0.0.6 dst=10.64.192.14 sport=7003 dport=41234 [ASSURED] mark=0 zone=0 use=2',
].join('\n');
// Direct (excluded from capture): reply from the server itself.
const DIRECT_7000 =
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=50600 dport=7000 src=10.0.0.6 dst=10.64.192.14 sport=7000 dport=50600 [ASSURED] mark=0 zone=0 use=2';

const one = (line: string): ConntrackEntry => {
  const [e] = parseConntrack(line);
  if (!e) throw new Error(`unparsed: ${line}`);
  return e;
};

function probeResult(over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    kind: 'tcp',
    target: '10.0.0.6:7000',
    address: '10.0.0.6',
    localAddress: '10.64.192.14',
    localPort: 50498,
    connect: 'ok',
    received: 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    receivedBytes: 67,
    end: 'eof',
    errorClass: 'eof',
    durationMs: 12,
    ...over,
  };
}

const failed = (checks: Check[]) => checks.filter((c) => !c.ok);

/** A failing check must say both what was wanted and what happened. */
function assertExplains(t: import('ava').ExecutionContext, c: Check | undefined, expected: string | RegExp, seen: string | RegExp): void {
  t.truthy(c);
  if (!c) return;
  t.false(c.ok);
  t.true(c.expected.length > 0 && c.seen.length > 0, JSON.stringify(c));
  if (typeof expected === 'string') t.is(c.expected, expected);
  else t.regex(c.expected, expected);
  if (typeof seen === 'string') t.is(c.seen, seen);
  else t.regex(c.seen, seen);
}

// ---------------------------------------------------------------- client

test('client: the seed-000 expectation passes on the seed-000 result', (t) => {
  const checks = checkClient(
    { connect: 'ok', received: 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', end: 'eof' },
    probeResult(),
    'observed',
  );
  t.deepEqual(
    checks.map((c) => [c.what, c.ok]),
    [
      ['connect', true],
      ['received', true],
      ['connection end', true],
    ],
  );
  t.true(checks.every((c) => c.evidence === 'client' && c.basis === 'observed'));
});

test('client: wrong received bytes → ok=false, both sides shown JSON-quoted (escapes visible)', (t) => {
  const [c] = checkClient({ received: '-NOAUTH Authentication required.\r\n' }, probeResult(), 'observed');
  assertExplains(
    t,
    c,
    '"-NOAUTH Authentication required.\\r\\n"',
    '"HTTP/1.1 400 Bad Request\\r\\ncontent-length: 0\\r\\nconnection: close\\r\\n\\r\\n"',
  );
});

test('client: wrong connect outcome → ok=false with expected and seen', (t) => {
  const [c] = checkClient({ connect: 'ok' }, probeResult({ connect: 'refused', end: 'not-connected' }), 'observed');
  assertExplains(t, c, 'ok', 'refused');
});

test('client: receivedContains and bytes', (t) => {
  const r = probeResult({ received: '-NOAUTH Authentication required.\r\n', receivedBytes: 34 });
  t.deepEqual(
    checkClient({ receivedContains: 'NOAUTH', bytes: 34 }, r, 'observed').map((c) => c.ok),
    [true, true],
  );
  const bad = checkClient({ receivedContains: 'HTTP/1.1', bytes: 0 }, r, 'observed');
  assertExplains(t, bad[0], '"HTTP/1.1"', '"-NOAUTH Authentication required.\\r\\n"');
  assertExplains(t, bad[1], '0', '34');
});

test('client: bytes 0 with nothing received passes (blackholed connection)', (t) => {
  const r = probeResult({ received: '', receivedBytes: 0, end: 'reset', errorClass: 'reset' });
  t.true(checkClient({ connect: 'ok', bytes: 0, end: ['eof', 'reset'] }, r, 'reasoned').every((c) => c.ok));
});

test('client: end as a list accepts any listed outcome and names them all when it fails', (t) => {
  const exp = { end: ['eof', 'reset'] as ('eof' | 'reset' | 'idle')[] };
  t.true(checkClient(exp, probeResult({ end: 'eof' }), 'observed')[0]!.ok);
  t.true(checkClient(exp, probeResult({ end: 'reset' }), 'observed')[0]!.ok);
  assertExplains(t, checkClient(exp, probeResult({ end: 'idle' }), 'observed')[0], 'eof or reset', 'idle');
});

test('client: end as a single value', (t) => {
  t.true(checkClient({ end: 'idle' }, probeResult({ end: 'idle' }), 'observed')[0]!.ok);
  assertExplains(t, checkClient({ end: 'idle' }, probeResult({ end: 'eof' }), 'observed')[0], 'idle', 'eof');
});

test('client: errorClass as a list accepts any listed class', (t) => {
  const exp = { errorClass: ['reset', 'closed'] };
  t.true(checkClient(exp, probeResult({ kind: 'redis', errorClass: 'reset' }), 'reasoned')[0]!.ok);
  t.true(checkClient(exp, probeResult({ kind: 'redis', errorClass: 'closed' }), 'reasoned')[0]!.ok);
  assertExplains(t, checkClient(exp, probeResult({ kind: 'redis', errorClass: 'protocol' }), 'reasoned')[0], 'reset or closed', 'protocol');
});

test('client: errorClass as a single value', (t) => {
  t.true(checkClient({ errorClass: 'protocol' }, probeResult({ errorClass: 'protocol' }), 'observed')[0]!.ok);
  assertExplains(t, checkClient({ errorClass: 'reply-error' }, probeResult({ errorClass: 'none' }), 'observed')[0], 'reply-error', 'none');
});

test('client: replyContains reads the reply, or the error text when there is no reply', (t) => {
  const withError = probeResult({ kind: 'redis', received: '', error: 'NOAUTH Authentication required.', errorClass: 'reply-error' });
  t.true(checkClient({ replyContains: 'NOAUTH' }, withError, 'observed')[0]!.ok);
  const withReply = probeResult({ kind: 'redis', received: '', reply: '(empty array)', errorClass: 'none' });
  assertExplains(t, checkClient({ replyContains: 'NOAUTH' }, withReply, 'observed')[0], '"NOAUTH"', '"(empty array)"');
  const neither = probeResult({ kind: 'redis', received: '' });
  assertExplains(t, checkClient({ replyContains: 'NOAUTH' }, neither, 'observed')[0], '"NOAUTH"', '""');
});

test('client: an empty expectation produces no checks', (t) => {
  t.deepEqual(checkClient({}, probeResult(), 'observed'), []);
});

// ---------------------------------------------------------------- conntrack

test('conntrack: the seed line is a leg redirected to 15001, one leg, no upstream', (t) => {
  const legs: ProbeLegs = { client: one(SEED_7000), others: [] };
  const checks = checkConntrack({ path: 'redirected', legs: 1, upstream: 'none' }, legs, 'observed');
  t.deepEqual(
    checks.map((c) => [c.what, c.ok]),
    [
      ['client leg', true],
      ['legs', true],
      ['upstream leg', true],
    ],
  );
  t.is(checks[0]!.expected, 'redirected to 15001');
  t.regex(checks[0]!.seen, /^redirected to 15001: 10\.64\.192\.14:50498 -> 10\.0\.0\.6:7000, reply from 127\.0\.0\.1:15001/);
  t.true(checks.every((c) => c.evidence === 'conntrack'));
});

test('conntrack: expecting two legs and an upstream on the seed 7000 line fails with both sides', (t) => {
  const legs: ProbeLegs = { client: one(SEED_7000), others: [] };
  const [count, up] = checkConntrack({ legs: 2, upstream: '10.0.0.6:7000' }, legs, 'observed');
  assertExplains(t, count, '2', /^1: 10\.64\.192\.14:50498 -> 10\.0\.0\.6:7000/);
  assertExplains(t, up, 'a leg to 10.0.0.6:7000', 'no second leg');
});

test('conntrack: a passthrough has two legs and the upstream leg to the server', (t) => {
  const [client, upstream] = parseConntrack(PASS_7003);
  const legs: ProbeLegs = { client: client!, others: [upstream!] };
  const checks = checkConntrack({ path: 'redirected', legs: 2, upstream: '10.0.0.6:7003' }, legs, 'observed');
  t.true(
    checks.every((c) => c.ok),
    JSON.stringify(failed(checks)),
  );
  assertExplains(t, checkConntrack({ upstream: 'none' }, legs, 'observed')[0], 'no second leg', '10.0.0.6:7003');
  assertExplains(t, checkConntrack({ upstream: '10.0.0.6:7000' }, legs, 'observed')[0], 'a leg to 10.0.0.6:7000', '10.0.0.6:7003');
});

test('conntrack: path "direct" passes for an excluded connection and fails for a redirected one', (t) => {
  t.true(checkConntrack({ path: 'direct' }, { client: one(DIRECT_7000), others: [] }, 'reasoned')[0]!.ok);
  assertExplains(
    t,
    checkConntrack({ path: 'direct' }, { client: one(SEED_7000), others: [] }, 'reasoned')[0],
    'direct',
    /^redirected to 15001: /,
  );
  assertExplains(
    t,
    checkConntrack({ path: 'redirected' }, { client: one(DIRECT_7000), others: [] }, 'reasoned')[0],
    'redirected to 15001',
    /^direct: /,
  );
});

test('conntrack: redirectPort in the expectation changes the wanted port', (t) => {
  const legs: ProbeLegs = { client: one(SEED_7000), others: [] };
  assertExplains(
    t,
    checkConntrack({ path: 'redirected', redirectPort: 15006 }, legs, 'observed')[0],
    'redirected to 15006',
    /^redirected to 15001/,
  );
});

test('conntrack: no client leg is reported as absent', (t) => {
  const checks = checkConntrack({ path: 'redirected', legs: 1 }, { others: [] }, 'observed');
  assertExplains(t, checks[0], 'redirected to 15001', 'absent: no conntrack entry for the client connection');
  assertExplains(t, checks[1], '1', '0: none');
});

// ---------------------------------------------------------------- stats

const snap = (o: Record<string, number>) => new Map(Object.entries(o));

test('stats "+1": passes on a delta of exactly 1, fails on 0 and on 2', (t) => {
  const name = 'listener.0.0.0.0_7000.downstream_cx_total';
  t.true(checkStats({ [name]: '+1' }, snap({ [name]: 1 }), snap({ [name]: 5 }), 'reasoned')[0]!.ok);
  assertExplains(t, checkStats({ [name]: '+1' }, snap({ [name]: 0 }), snap({ [name]: 4 }), 'reasoned')[0], '+1', '+0');
  assertExplains(t, checkStats({ [name]: '+1' }, snap({ [name]: 2 }), snap({ [name]: 6 }), 'reasoned')[0], '+1', '+2');
});

test('stats "+0": an absent stat counts as 0 (deferred creation), a moved one fails', (t) => {
  const name = 'cluster.PassthroughCluster.upstream_cx_total';
  const ok = checkStats({ [name]: '+0' }, snap({}), snap({}), 'reasoned')[0]!;
  t.true(ok.ok);
  t.is(ok.seen, '+0');
  assertExplains(t, checkStats({ [name]: '+0' }, snap({ [name]: 1 }), snap({ [name]: 1 }), 'reasoned')[0], '+0', '+1');
});

test('stats ">=1": passes on 1 or more, fails on 0', (t) => {
  const name = 'http_inspector.http_not_found';
  t.true(checkStats({ [name]: '>=1' }, snap({ [name]: 1 }), snap({ [name]: 1 }), 'reasoned')[0]!.ok);
  t.true(checkStats({ [name]: '>=1' }, snap({ [name]: 3 }), snap({ [name]: 3 }), 'reasoned')[0]!.ok);
  assertExplains(t, checkStats({ [name]: '>=1' }, snap({}), snap({}), 'reasoned')[0], '>=1', '+0');
});

test('stats absolute number: compares the value after the probe, not the delta', (t) => {
  const name = 'cluster.BlackHoleCluster;.upstream_cx_none_healthy';
  t.true(checkStats({ [name]: 3 }, snap({ [name]: 1 }), snap({ [name]: 3 }), 'reasoned')[0]!.ok);
  assertExplains(t, checkStats({ [name]: 1 }, snap({ [name]: 1 }), snap({ [name]: 3 }), 'reasoned')[0], '1', '3');
  t.true(checkStats({ [name]: 0 }, snap({}), snap({}), 'reasoned')[0]!.ok, 'absent is 0');
});

test('stats: a delta going down is shown with its sign', (t) => {
  const c = checkStats({ a: '+1' }, snap({ a: -2 }), snap({ a: 0 }), 'reasoned')[0]!;
  assertExplains(t, c, '+1', '-2');
});

test('stats: one check per expected name, each labelled with the stat name', (t) => {
  const checks = checkStats({ a: '+1', b: '+0', c: '>=2' }, snap({ a: 1, c: 2 }), snap({ a: 1, c: 2 }), 'observed');
  t.deepEqual(
    checks.map((c) => [c.what, c.ok, c.evidence, c.basis]),
    [
      ['a', true, 'stats', 'observed'],
      ['b', true, 'stats', 'observed'],
      ['c', true, 'stats', 'observed'],
    ],
  );
});

test('stats in a pod without sidecar: only "+0" holds; anything else fails saying there is no sidecar', (t) => {
  const checks = checkStats({ a: '+0', b: '+1', c: '>=1' }, undefined, undefined, 'reasoned');
  t.deepEqual(
    checks.map((c) => c.ok),
    [true, false, false],
  );
  for (const c of checks) t.is(c.seen, 'no sidecar in this pod');
  assertExplains(t, checks[1], '+1', 'no sidecar in this pod');
});

// ---------------------------------------------------------------- iptables-save

test('iptables-save: contains and absent match whole trimmed lines', (t) => {
  const saved = '*nat\n:istio_OUTPUT - [0:0]\n  -A istio_OUTPUT -d 10.0.0.0/24 -j RETURN  \n-A istio_OUTPUT -j istio_REDIRECT\nCOMMIT\n';
  const a = podAssertionSchema.parse({
    workload: 'sleep',
    iptablesSave: {
      contains: ['-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN', '-A istio_OUTPUT -j istio_REDIRECT'],
      absent: ['-A istio_OUTPUT -d 10.0.0.0/8 -j RETURN'],
    },
  });
  const checks = checkIptablesSave(a, saved);
  t.deepEqual(
    checks.map((c) => [c.expected, c.seen, c.ok]),
    [
      ['contains "-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN"', 'present', true],
      ['contains "-A istio_OUTPUT -j istio_REDIRECT"', 'present', true],
      ['no "-A istio_OUTPUT -d 10.0.0.0/8 -j RETURN"', 'absent', true],
    ],
  );
  t.true(checks.every((c) => c.evidence === 'iptables' && c.what === 'sleep iptables-save' && c.basis === 'observed'));
});

test('iptables-save: a missing rule, a forbidden rule present, and a partial line all fail', (t) => {
  const saved = '-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN\n-A istio_OUTPUT -j istio_REDIRECT\n';
  const a = podAssertionSchema.parse({
    workload: 'sleep',
    basis: 'reasoned',
    iptablesSave: {
      contains: ['-A istio_OUTPUT -d 10.0.0.0/16 -j RETURN', '-A istio_OUTPUT -d 10.0.0.0/24'],
      absent: ['-A istio_OUTPUT -j istio_REDIRECT'],
    },
  });
  const checks = checkIptablesSave(a, saved);
  t.deepEqual(
    checks.map((c) => [c.seen, c.ok]),
    [
      ['absent', false],
      ['absent', false],
      ['present', false],
    ],
  );
  t.true(checks.every((c) => c.basis === 'reasoned'));
});

test('iptables-save: no iptablesSave block means no checks', (t) => {
  t.deepEqual(checkIptablesSave(podAssertionSchema.parse({ workload: 'sleep' }), '-A X'), []);
});

// ---------------------------------------------------------------- basis per evidence kind

test('checkProbe: basis per evidence kind, with "observed" for a kind left out', (t) => {
  const e = expectSchema.parse({
    basis: { client: 'observed', conntrack: 'reasoned' },
    client: { connect: 'ok' },
    conntrack: { legs: 1 },
    stats: { 'listener.0.0.0.0_7000.downstream_cx_total': '+1' },
  });
  const checks = checkProbe(
    e,
    probeResult(),
    { client: one(SEED_7000), others: [] },
    snap({ 'listener.0.0.0.0_7000.downstream_cx_total': 1 }),
    snap({}),
  );
  t.deepEqual(
    checks.map((c) => [c.evidence, c.basis, c.ok]),
    [
      ['client', 'observed', true],
      ['conntrack', 'reasoned', true],
      ['stats', 'observed', true],
    ],
  );
});

test('checkProbe: a single basis applies to every kind; the default is "observed"', (t) => {
  const reasoned = expectSchema.parse({ basis: 'reasoned', client: { connect: 'ok' }, conntrack: { legs: 1 }, stats: { x: '+0' } });
  const legs: ProbeLegs = { client: one(SEED_7000), others: [] };
  t.deepEqual(
    checkProbe(reasoned, probeResult(), legs, snap({}), snap({})).map((c) => c.basis),
    ['reasoned', 'reasoned', 'reasoned'],
  );
  const dflt = expectSchema.parse({ client: { connect: 'ok' } });
  t.deepEqual(
    checkProbe(dflt, probeResult(), legs, undefined, undefined).map((c) => c.basis),
    ['observed'],
  );
});

test('checkProbe: the seed-000 nc-7000 expectation against a passthrough result fails on every kind', (t) => {
  const e = expectSchema.parse({
    basis: { client: 'observed', conntrack: 'observed', stats: 'reasoned' },
    client: { connect: 'ok', received: 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', end: 'eof' },
    conntrack: { path: 'redirected', legs: 1, upstream: 'none' },
    stats: { 'listener.0.0.0.0_7000.downstream_cx_total': '+1', 'cluster.PassthroughCluster.upstream_cx_total': '+0' },
  });
  const [client, upstream] = parseConntrack(PASS_7003);
  const r = probeResult({ received: '-NOAUTH Authentication required.\r\n', receivedBytes: 34, end: 'idle', errorClass: 'none' });
  const checks = checkProbe(
    e,
    r,
    { client: client!, others: [upstream!] },
    snap({ 'cluster.PassthroughCluster.upstream_cx_total': 1 }),
    snap({ 'cluster.PassthroughCluster.upstream_cx_total': 1 }),
  );
  t.deepEqual(
    failed(checks).map((c) => `${c.evidence}:${c.what}`),
    [
      'client:received',
      'client:connection end',
      'conntrack:legs',
      'conntrack:upstream leg',
      'stats:listener.0.0.0.0_7000.downstream_cx_total',
      'stats:cluster.PassthroughCluster.upstream_cx_total',
    ],
  );
  for (const c of failed(checks)) t.true(c.expected !== '' && c.seen !== '' && c.expected !== c.seen, JSON.stringify(c));
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

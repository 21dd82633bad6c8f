/**
 * A suite result for the HTML report tests: one failed, one passed, one errored and one skipped run,
 * with probes judged by the real assertion code from conntrack lines and stats diffs.
 */
import type { ScenarioRun, SuiteResult } from '../../harness/report/suiteResult.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../../harness/result/outcome.ts';
import type { PathTrace } from '../../harness/model/pathTrace.ts';
import type { ProbeResult } from '../../harness/probes/result.ts';
import { checkProbe } from '../../harness/result/assertions.ts';
import { legsOfProbe, parseConntrack } from '../../harness/evidence/conntrack.ts';
import { probeSchema } from '../../harness/scenario/schema.ts';

export const POD = '10.64.192.14';
export const XSS = '<script>window.__xss = 1; alert(1)</script>';

// ------------------------------------------------------------------------------------ fixtures

/** A probe judged by the real assertion code, from conntrack lines and a stats diff. */
export function probeOutcome(
  spec: unknown,
  result: ProbeResult,
  conntrack: string[],
  stats: Record<string, number> | undefined,
  trace?: PathTrace,
): ProbeOutcome & { trace?: PathTrace } {
  const probe = probeSchema.parse(spec);
  const legs = legsOfProbe(parseConntrack(conntrack.join('\n')), POD, result.localPort ?? -1);
  const moved = stats ? new Map(Object.entries(stats)) : undefined;
  const checks = checkProbe(probe.expect, result, legs, moved, moved);
  const statsDiff = stats;
  return { probe, result, checks, legs, statsDiff, ok: checks.every((c) => c.ok), ...(trace ? { trace } : {}) };
}

export function tcpResult(port: number, localPort: number, received: string, over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    kind: 'tcp',
    target: `10.0.0.6:${port}`,
    address: '10.0.0.6',
    localAddress: POD,
    localPort,
    connect: 'ok',
    received,
    receivedBytes: Buffer.byteLength(received, 'latin1'),
    end: 'eof',
    errorClass: 'eof',
    durationMs: 14,
    ...over,
  };
}

export const redirectedLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=127.0.0.1 dst=${POD} sport=15001 dport=${sport} [ASSURED] mark=0 zone=0 use=2`;
export const upstreamLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=10.0.0.6 dst=${POD} sport=${dport} dport=${sport} [ASSURED] mark=0 zone=0 use=2`;

export function passthroughTrace(port: number, filterChain: string): PathTrace {
  return {
    client: { podIp: POD, dialled: `10.0.0.6:${port}` },
    iptables: { rule: 'ISTIO_OUTPUT -j ISTIO_REDIRECT', detail: '-A ISTIO_OUTPUT -j ISTIO_REDIRECT (uid 1000 is not the proxy)' },
    sidecar: { port: 15001, detail: 'the sidecar reads the original destination' },
    match: { listener: `0.0.0.0_${port}`, filterChain, cluster: 'PassthroughCluster' },
    why: { cluster: 'ORIGINAL_DST' },
    destination: { address: `10.0.0.6:${port}`, detail: 'the original destination' },
    captured: true,
    outcome: 'forwarded',
    notes: ['raw TCP carries no SNI; the filter chain is chosen by destination port only'],
  };
}

export const LOCAL_REPLY_TRACE: PathTrace = {
  client: { podIp: POD, dialled: '10.0.0.6:7000' },
  iptables: { rule: 'ISTIO_OUTPUT -j ISTIO_REDIRECT', detail: '-A ISTIO_OUTPUT -j ISTIO_REDIRECT' },
  sidecar: { port: 15001, detail: 'the sidecar reads the original destination' },
  match: { listener: '0.0.0.0_7000', error: 'protocol error' },
  why: { filterChain: 'no request line could be parsed: 400 from the codec' },
  filterChainMatch: 'ALL',
  captured: true,
  outcome: 'local-reply',
  notes: ['Istio 1.4 builds an HTTP listener for 0.0.0.0_7000 because Service "web" declares http on 7000'],
};

export const NOAUTH = '-NOAUTH Authentication required.\r\n';
export const RUN_DIR = '/work/main/runs/20250101-120000-redis-7000-el3f';

// Passed: redis-7000-modern, 7000 passes through http_inspector to Redis.
export const passedProbe = probeOutcome(
  {
    name: 'nc-7000',
    from: 'sleep',
    tcp: { host: '10.0.0.6', port: 7000, send: 'keys *\n' },
    expect: {
      basis: { client: 'observed', conntrack: 'observed', stats: 'reasoned' },
      client: { connect: 'ok', received: NOAUTH },
      conntrack: { path: 'redirected', legs: 2, upstream: '10.0.0.6:7000' },
      stats: { 'cluster.PassthroughCluster.upstream_cx_total': '+1' },
    },
  },
  tcpResult(7000, 50498, NOAUTH, { end: 'idle', errorClass: 'none' }),
  [redirectedLeg(50498, 7000), upstreamLeg(41234, 7000)],
  { 'cluster.PassthroughCluster.upstream_cx_total': 1, 'listener.0.0.0.0_15001.downstream_cx_total': 1 },
  passthroughTrace(7000, 'PassthroughFilterChain'),
);

// Failed: redis-7000 (Istio 1.4) with a wrong expectation: 7000 is answered by the sidecar itself.
// The bytes "received" carry a script tag, \r\n and a NUL: the page must show them, not run them.
export const RECEIVED_400 = `HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n${XSS}`;
export const failingProbe = probeOutcome(
  {
    name: 'nc-7000',
    from: 'sleep',
    description: 'nc 10.0.0.6 7000 as in the seed',
    tcp: { host: '10.0.0.6', port: 7000, send: 'keys *\n' },
    expect: {
      client: { connect: 'ok', received: NOAUTH },
      conntrack: { path: 'redirected', legs: 2 },
      stats: { 'cluster.PassthroughCluster.upstream_cx_total': '+1' },
    },
  },
  tcpResult(7000, 50500, RECEIVED_400, { error: `peer closed\r\n\u0000${XSS}` }),
  [redirectedLeg(50500, 7000)],
  { 'listener.0.0.0.0_7000.downstream_cx_total': 1, 'http.outbound_0.0.0.0_7000.downstream_rq_4xx': 1 },
  LOCAL_REPLY_TRACE,
);
export const passing7001 = probeOutcome(
  {
    name: 'nc-7001',
    from: 'sleep',
    tcp: { host: '10.0.0.6', port: 7001, send: 'keys *\n' },
    expect: { client: { received: NOAUTH }, conntrack: { path: 'redirected', legs: 2, upstream: '10.0.0.6:7001' } },
  },
  tcpResult(7001, 50502, NOAUTH, { end: 'idle', errorClass: 'none' }),
  [redirectedLeg(50502, 7001), upstreamLeg(41236, 7001)],
  { 'cluster.PassthroughCluster.upstream_cx_total': 1 },
  passthroughTrace(7001, 'tcp_proxy'),
);
export const redisNoTrace = probeOutcome(
  {
    name: 'redis-7002',
    from: 'sleep',
    redis: { host: '10.0.0.6', port: 7002, command: ['KEYS', '*'] },
    expect: { client: { replyContains: 'NOAUTH' } },
  },
  { ...tcpResult(7002, 50504, ''), kind: 'redis', error: 'NOAUTH Authentication required.', errorClass: 'reply-error' },
  [redirectedLeg(50504, 7002), upstreamLeg(41238, 7002)],
  {},
);
redisNoTrace.traceError = 'the model could not trace this connection: <no listener for 10.0.0.6:7002>';

export function outcome(name: string, probes: ProbeOutcome[], extra: Partial<ScenarioOutcome> = {}): ScenarioOutcome {
  return {
    name,
    ok: probes.every((p) => p.ok) && !extra.error,
    runDir: `/work/main/runs/20250101-120000-${name}-el3f`,
    backend: 'netns/model',
    probes,
    podChecks: [],
    durationMs: 5_700,
    timings: { upMs: 3_100, probesMs: 1_900, downMs: 700 },
    ...extra,
  };
}

export const RUNS: ScenarioRun[] = [
  {
    scenario: 'redis-7000-modern',
    description: 'the same topology today: http_inspector sends non-HTTP bytes to PassthroughFilterChain, 7000 reaches Redis',
    tags: ['seed-000', 'modern'],
    istio: '1.30',
    backend: 'netns',
    attempt: 1,
    outcome: outcome('redis-7000-modern', [passedProbe]),
    status: 'passed',
    startedAt: '2025-01-01T12:00:00.000Z',
    durationMs: 5_700,
  },
  {
    scenario: 'registry-only-http',
    description: 'seed 003: REGISTRY_ONLY, HTTP to httpbin.org gets an empty 502',
    tags: ['seed-003'],
    istio: '1.5',
    backend: 'netns',
    attempt: 1,
    status: 'skipped',
    reason: 'not started: SIGINT (Ctrl-C)',
    startedAt: '2025-01-01T12:00:20.000Z',
    durationMs: 0,
  },
  {
    scenario: 'redis-7000',
    description: 'seed 000 as it happened (with a wrong expectation for 7000)',
    tags: ['seed-000', 'legacy'],
    istio: '1.4',
    backend: 'netns',
    attempt: 1,
    outcome: {
      ...outcome('redis-7000', [passing7001, failingProbe, redisNoTrace]),
      runDir: RUN_DIR,
      fidelityNotes: ['iptables-restore text of Istio 1.4 is modelled from istio-iptables.sh'],
    },
    status: 'failed',
    startedAt: '2025-01-01T12:00:06.000Z',
    durationMs: 6_200,
  },
  {
    scenario: 'mysql-3306-foreign-serviceentry',
    description: 'seed 002: a TCP ServiceEntry without addresses captures every :3306 connection',
    tags: ['seed-002'],
    istio: '1.6',
    backend: 'netns',
    attempt: 1,
    outcome: outcome('mysql-3306-foreign-serviceentry', [], {
      error: 'lab up: mariadb did not start within 20 s & gave up <see servers/mariadb.log>',
    }),
    status: 'error',
    reason: 'lab up: mariadb did not start within 20 s & gave up <see servers/mariadb.log>',
    startedAt: '2025-01-01T12:00:13.000Z',
    durationMs: 20_400,
  },
];

export const SUITE: SuiteResult = {
  startedAt: '2025-01-01T12:00:00.000Z',
  finishedAt: '2025-01-01T12:00:34.000Z',
  durationMs: 34_000,
  backend: 'netns',
  runs: RUNS,
  interrupted: 'SIGINT (Ctrl-C)',
  selection: ['redis-7000*', 'mysql-3306-foreign-serviceentry', 'registry-only-http'],
};

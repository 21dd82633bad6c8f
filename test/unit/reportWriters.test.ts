import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { junitSuites, renderJunit, stripForbidden, xmlAttr, xmlText } from '../../harness/report/junit.ts';
import { suiteTimings, writeAtomic, writeSuiteReports } from '../../harness/report/files.ts';
import { summarize, type ScenarioRun, type SuiteResult } from '../../harness/report/suiteResult.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../../harness/result/outcome.ts';
import type { ProbeResult } from '../../harness/probes/result.ts';
import { checkIptablesSave, checkProbe } from '../../harness/result/assertions.ts';
import { legsOfProbe, parseConntrack } from '../../harness/evidence/conntrack.ts';
import { podAssertionSchema, probeSchema } from '../../harness/scenario/schema.ts';

// ------------------------------------------------------------------------------------ fixtures

const POD = '10.64.192.14';
const NOAUTH = '-NOAUTH Authentication required.\r\n';
const RECEIVED_400 = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n\u0000<b>&"</b>';
/** Characters XML 1.0 forbids (as a test of the output, independent of the code under test). */
// eslint-disable-next-line no-control-regex -- matching the control characters XML 1.0 forbids is the point of this pattern
const FORBIDDEN_IN_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** A probe judged by the real assertion code, from conntrack lines and a stats diff. */
function probeOutcome(spec: unknown, result: ProbeResult, conntrack: string[], stats: Record<string, number> | undefined): ProbeOutcome {
  const probe = probeSchema.parse(spec);
  const legs = legsOfProbe(parseConntrack(conntrack.join('\n')), POD, result.localPort ?? -1);
  const moved = stats ? new Map(Object.entries(stats)) : undefined;
  const checks = checkProbe(probe.expect, result, legs, moved, moved);
  const statsDiff = stats;
  return { probe, result, checks, legs, statsDiff, ok: checks.every((c) => c.ok) };
}

function tcpResult(port: number, localPort: number, received: string, over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    kind: 'tcp',
    target: `10.0.0.6:${port}`,
    address: '10.0.0.6',
    localAddress: POD,
    localPort,
    connect: 'ok',
    received,
    receivedBytes: Buffer.byteLength(received, 'latin1'),
    end: 'idle',
    errorClass: 'none',
    durationMs: 1_250,
    ...over,
  };
}

const redirectedLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=127.0.0.1 dst=${POD} sport=15001 dport=${sport} [ASSURED] mark=0 zone=0 use=2`;
const upstreamLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=10.0.0.6 dst=${POD} sport=${dport} dport=${sport} [ASSURED] mark=0 zone=0 use=2`;

const tcpProbe = (name: string, port: number, expect: unknown) => ({
  name,
  from: 'sleep',
  tcp: { host: '10.0.0.6', port, send: 'keys *\n' },
  expect,
});

const passing7001 = probeOutcome(
  tcpProbe('nc-7001', 7001, { client: { received: NOAUTH }, conntrack: { path: 'redirected', legs: 2, upstream: '10.0.0.6:7001' } }),
  tcpResult(7001, 50502, NOAUTH),
  [redirectedLeg(50502, 7001), upstreamLeg(41236, 7001)],
  { 'cluster.PassthroughCluster.upstream_cx_total': 1 },
);

// A wrong expectation: Istio 1.4's sidecar answers 7000 itself with a 400; the scenario expected Redis.
const wrong7000 = probeOutcome(
  tcpProbe('nc-7000', 7000, {
    client: { connect: 'ok', received: NOAUTH },
    conntrack: { path: 'redirected', legs: 2 },
    stats: { 'cluster.PassthroughCluster.upstream_cx_total': '+1' },
  }),
  tcpResult(7000, 50500, RECEIVED_400, { end: 'eof', errorClass: 'eof', error: 'peer closed\r\n\u0000 after 400' }),
  [redirectedLeg(50500, 7000)],
  { 'listener.0.0.0.0_7000.downstream_cx_total': 1 },
);

const erroredProbe: ProbeOutcome = {
  probe: probeSchema.parse(tcpProbe('nc-7003', 7003, { client: { connect: 'ok' } })),
  error: 'probe agent gone: EPIPE\u0000',
  checks: [],
  ok: false,
};

const podChecksOk = checkIptablesSave(
  podAssertionSchema.parse({ workload: 'sleep', iptablesSave: { contains: ['-A ISTIO_OUTPUT -j ISTIO_REDIRECT'] } }),
  '*nat\n-A ISTIO_OUTPUT -j ISTIO_REDIRECT\nCOMMIT\n',
);

function outcome(name: string, probes: ProbeOutcome[], extra: Partial<ScenarioOutcome> = {}): ScenarioOutcome {
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

function run(
  scenario: string,
  status: ScenarioRun['status'],
  o: ScenarioOutcome | undefined,
  extra: Partial<ScenarioRun> = {},
): ScenarioRun {
  return {
    scenario,
    description: `${scenario} <described> & "quoted"`,
    tags: ['seed-000', 'legacy'],
    istio: '1.4',
    backend: 'netns',
    attempt: 1,
    ...(o ? { outcome: o } : {}),
    status,
    startedAt: '2025-01-01T12:00:00.000Z',
    durationMs: o?.durationMs ?? 0,
    ...extra,
  };
}

const RUNS: ScenarioRun[] = [
  run('redis-7000-modern', 'passed', outcome('redis-7000-modern', [passing7001], { podChecks: podChecksOk })),
  run('redis-7000', 'failed', outcome('redis-7000', [passing7001, wrong7000, erroredProbe])),
  run(
    'mysql-3306',
    'error',
    outcome('mysql-3306', [], { error: 'lab up: mariadb did not start within 20 s <see servers/mariadb.log>\r\n\u0000' }),
    { reason: 'lab up: mariadb did not start' },
  ),
  run('no-outcome', 'error', undefined, { reason: 'runner threw: ENOSPC' }),
  run('registry-only-http', 'interrupted', outcome('registry-only-http', [passing7001]), { reason: 'SIGINT (Ctrl-C)' }),
  run('registry-only-https', 'skipped', undefined, { reason: 'not started: SIGINT (Ctrl-C)' }),
  run('flaky', 'passed', outcome('flaky', [passing7001]), { attempt: 1 }),
  run('flaky', 'failed', outcome('flaky', [wrong7000]), { attempt: 2 }),
];

const SUITE: SuiteResult = {
  startedAt: '2025-01-01T12:00:00.000Z',
  finishedAt: '2025-01-01T12:01:00.000Z',
  durationMs: 60_000,
  backend: 'netns',
  runs: RUNS,
  interrupted: 'SIGINT (Ctrl-C)',
  selection: ['redis-*', 'mysql-3306'],
};

// ------------------------------------------------------------------------------- parsing back

interface XmlResult {
  message?: string;
  type?: string;
  '#text'?: string;
}
interface XmlCase {
  name: string;
  classname: string;
  time: string;
  failure?: XmlResult;
  error?: XmlResult;
  skipped?: XmlResult | '';
  'system-out'?: string;
}
interface XmlSuite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  time: string;
  properties: { property: { name: string; value: string }[] };
  testcase: XmlCase[];
}
interface XmlDoc {
  testsuites: { tests: string; failures: string; errors: string; skipped: string; testsuite?: XmlSuite[] };
}

function parse(xml: string): XmlDoc {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid)}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  });
  return parser.parse(xml) as XmlDoc;
}

const xml = renderJunit(SUITE);
const doc = parse(xml);
const suites = doc.testsuites.testsuite ?? [];
const suite = (name: string) => {
  const s = suites.find((x) => x.name === name);
  if (!s) throw new Error(`no testsuite ${name}; have ${suites.map((x) => x.name).join(', ')}`);
  return s;
};
const counts = (s: XmlSuite) => ({
  tests: Number(s.tests),
  failures: Number(s.failures),
  errors: Number(s.errors),
  skipped: Number(s.skipped),
});
const testcase = (s: XmlSuite, name: string) => {
  const c = s.testcase.find((x) => x.name === name);
  if (!c) throw new Error(`no testcase ${name} in ${s.name}`);
  return c;
};
const prop = (s: XmlSuite, name: string) => s.properties.property.find((p) => p.name === name)?.value;

// ------------------------------------------------------------------------------------ JUnit

test('junit: valid XML with one testsuite per scenario run', (t) => {
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  t.is(suites.length, RUNS.length);
});

test('junit: no character XML 1.0 forbids, even though probe output held NUL and CR', (t) => {
  t.true(JSON.stringify(SUITE.runs[1]!.outcome!.probes[1]!.result!.received).includes('\\u0000'));
  t.notRegex(xml, FORBIDDEN_IN_XML);
  t.false(xml.includes('\r'));
});

test('junit: counts per testsuite', (t) => {
  t.deepEqual(counts(suite('redis-7000-modern')), { tests: 2, failures: 0, errors: 0, skipped: 0 });
  t.deepEqual(counts(suite('redis-7000')), { tests: 3, failures: 1, errors: 1, skipped: 0 });
  t.deepEqual(counts(suite('mysql-3306')), { tests: 1, failures: 0, errors: 1, skipped: 0 });
  t.deepEqual(counts(suite('no-outcome')), { tests: 1, failures: 0, errors: 1, skipped: 0 });
  t.deepEqual(counts(suite('registry-only-http')), { tests: 2, failures: 0, errors: 0, skipped: 1 });
  t.deepEqual(counts(suite('registry-only-https')), { tests: 1, failures: 0, errors: 0, skipped: 1 });
  t.deepEqual(counts(suite('flaky (attempt 2)')), { tests: 1, failures: 1, errors: 0, skipped: 0 });
});

test('junit: root totals are the sums of the testsuites', (t) => {
  const root = doc.testsuites;
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped') => suites.reduce((n, s) => n + Number(s[k]), 0);
  t.is(Number(root.tests), sum('tests'));
  t.is(Number(root.failures), 2);
  t.is(Number(root.errors), 3);
  t.is(Number(root.skipped), 2);
  for (const s of suites) t.is(Number(s.tests), s.testcase.length, s.name);
});

test('junit: failing testsuites first, then the rest in run order', (t) => {
  t.deepEqual(
    suites.map((s) => s.name),
    [
      'redis-7000',
      'mysql-3306',
      'no-outcome',
      'flaky (attempt 2)',
      'redis-7000-modern',
      'registry-only-http',
      'registry-only-https',
      'flaky (attempt 1)',
    ],
  );
});

test('junit: a repeated scenario names its attempts, a single run does not', (t) => {
  t.truthy(suite('flaky (attempt 1)'));
  t.truthy(suite('flaky (attempt 2)'));
  t.false(suites.some((s) => s.name.startsWith('redis-7000 (')));
  t.is(prop(suite('flaky (attempt 2)'), 'attempt'), '2');
});

test('junit: a failed probe: the first failing check as the message, every check and the evidence as the body', (t) => {
  const c = testcase(suite('redis-7000'), 'nc-7000');
  const failure = c.failure!;
  t.truthy(failure);
  t.is(c.error, undefined);
  t.is(
    failure.message,
    `client received: expected ${JSON.stringify(NOAUTH)}, saw ${JSON.stringify(RECEIVED_400)}`,
    'the check shows the bytes JSON-escaped, so the NUL stays visible as \\u0000',
  );
  t.regex(failure.message!, /^client received: expected "-NOAUTH Authentication required\.\\r\\n", saw "HTTP\/1\.1 400 Bad Request\\r\\n/);
  const body = failure['#text']!;
  t.regex(body, /✔ client connect: expected ok, saw ok/);
  t.regex(body, /✘ client received: expected/);
  t.regex(body, /✘ conntrack legs: expected 2, saw 1/);
  t.regex(body, /✘ stats cluster\.PassthroughCluster\.upstream_cx_total: expected \+1, saw \+0/);
  t.regex(body, /conntrack legs:/);
  t.regex(body, /redirected to 15001/);
  t.regex(body, /listener\.0\.0\.0\.0_7000\.downstream_cx_total \+1/);
  t.true(body.includes('\\u0000<b>&\\"</b>'), 'markup in probe output comes back as text');
  t.true(body.includes('error=eof (peer closed\n     after 400)'), 'a multi-line error stays indented under its evidence line');
});

test('junit: classnames, names and times of probe testcases', (t) => {
  for (const s of suites) {
    const scenario = s.name.replace(/ \(attempt \d+\)$/, '');
    for (const c of s.testcase) t.is(c.classname, `egress-lab.${scenario}`, `${s.name}/${c.name}`);
  }
  const names = suite('redis-7000').testcase.map((c) => c.name);
  t.deepEqual(names, ['nc-7001', 'nc-7000', 'nc-7003']);
  t.is(testcase(suite('redis-7000'), 'nc-7001').time, '1.25');
});

test('junit: a probe that errored is an <error>, not a failure', (t) => {
  const c = testcase(suite('redis-7000'), 'nc-7003');
  t.is(c.failure, undefined);
  t.is(c.error?.message, 'probe agent gone: EPIPE');
  t.is(c.error?.type, 'ProbeError');
});

test('junit: pod-state testcase when the scenario has pod checks', (t) => {
  const c = testcase(suite('redis-7000-modern'), 'pod-state');
  t.is(c.failure, undefined);
  t.regex(c['system-out']!, /✔ iptables sleep iptables-save: expected contains "-A ISTIO_OUTPUT -j ISTIO_REDIRECT", saw present/);
  t.false(suite('redis-7000').testcase.some((x) => x.name === 'pod-state'));
});

test('junit: set-up failure and missing outcome become a `setup` testcase with <error>', (t) => {
  const s = suite('mysql-3306');
  t.deepEqual(
    s.testcase.map((c) => c.name),
    ['setup'],
  );
  const err = testcase(s, 'setup').error!;
  t.is(err.message, 'lab up: mariadb did not start within 20 s <see servers/mariadb.log>\\r\\n');
  t.regex(err['#text']!, /run directory: \/work\/main\/runs\/20250101-120000-mysql-3306-el3f/);
  t.is(testcase(suite('no-outcome'), 'setup').error?.message, 'runner threw: ENOSPC');
});

test('junit: interrupted and skipped scenarios carry <skipped message="interrupted: ...">', (t) => {
  t.regex(xml, /<skipped message="interrupted: SIGINT \(Ctrl-C\)"\/>/);
  const interrupted = suite('registry-only-http');
  t.is((testcase(interrupted, 'setup').skipped as XmlResult).message, 'interrupted: SIGINT (Ctrl-C)');
  t.is(testcase(interrupted, 'nc-7001').failure, undefined, 'the probe that ran before the interrupt is kept');
  t.is((testcase(suite('registry-only-https'), 'setup').skipped as XmlResult).message, 'interrupted: not started: SIGINT (Ctrl-C)');
});

test('junit: a skipped scenario in a run that was not interrupted says skipped, not interrupted', (t) => {
  const r: SuiteResult = { ...SUITE, interrupted: undefined, runs: [run('x', 'skipped', undefined, { reason: 'needs the kind backend' })] };
  const s = parse(renderJunit(r)).testsuites.testsuite![0]!;
  t.is((s.testcase[0]!.skipped as XmlResult).message, 'skipped: needs the kind backend');
});

test('junit: properties carry istio version, backend, tags and run directory', (t) => {
  const s = suite('redis-7000');
  t.is(prop(s, 'istio'), '1.4');
  t.is(prop(s, 'backend'), 'netns');
  t.is(prop(s, 'tags'), 'seed-000,legacy');
  t.is(prop(s, 'runDir'), '/work/main/runs/20250101-120000-redis-7000-el3f');
  t.is(prop(s, 'description'), 'redis-7000 <described> & "quoted"');
  t.is(prop(suite('no-outcome'), 'runDir'), undefined);
});

test('junit: a failed run whose outcome shows nothing failing still fails in the file', (t) => {
  const r: SuiteResult = { ...SUITE, runs: [run('odd', 'failed', outcome('odd', [passing7001]), { reason: '2 of 3 probes ran' })] };
  const s = parse(renderJunit(r)).testsuites.testsuite![0]!;
  t.deepEqual(counts(s), { tests: 2, failures: 1, errors: 0, skipped: 0 });
  t.is(testcase(s, 'run').failure?.message, '2 of 3 probes ran');
});

test('junit: an empty run is still a valid document', (t) => {
  const d = parse(renderJunit({ ...SUITE, runs: [] }));
  t.is(d.testsuites.tests, '0');
  t.is(d.testsuites.testsuite, undefined);
});

test('junitSuites agrees with the rendered XML', (t) => {
  const model = junitSuites(SUITE);
  t.deepEqual(
    model.map((s) => s.name),
    suites.map((s) => s.name),
  );
  t.deepEqual(
    model.map((s) => [s.tests, s.failures, s.errors, s.skipped]),
    suites.map((s) => [Number(s.tests), Number(s.failures), Number(s.errors), Number(s.skipped)]),
  );
});

test('xml escaping helpers: forbidden characters dropped, CR/LF/tab kept visible in attributes', (t) => {
  t.is(stripForbidden('a\u0000b\u0007c\u001bd\ufffee\tf\ng\rh'), 'abcde\tf\ng\rh');
  t.is(stripForbidden('x\ud800y\udc00z😀'), 'xyz😀');
  t.is(xmlText('a\r\nb\rc\u0000'), 'a\nb\nc');
  t.is(xmlAttr('a\r\nb\tc\u0000'), 'a\\r\\nb\\tc');
  t.is(xmlAttr('x'.repeat(2000)).length, 1001);
});

// ---------------------------------------------------------------------------------- summary

test('summarize: runs by status, probes and checks', (t) => {
  const s = summarize(SUITE);
  t.deepEqual(
    { passed: s.passed, failed: s.failed, errors: s.errors, skipped: s.skipped, interrupted: s.interrupted },
    { passed: 2, failed: 2, errors: 2, skipped: 1, interrupted: 1 },
  );
  // probes: modern 1, redis-7000 3, interrupted 1, flaky 1 + 1
  t.is(s.probes, 7);
  const expectedChecks = podChecksOk.length + 4 * passing7001.checks.length + 2 * wrong7000.checks.length;
  t.is(s.checks, expectedChecks);
  t.is(s.failedChecks, 2 * wrong7000.checks.filter((c) => !c.ok).length);
  t.is(wrong7000.checks.filter((c) => !c.ok).length, 3);
});

// ------------------------------------------------------------------------------------ files

const tmp = () => mkdtempSync(join(tmpdir(), 'egress-lab-report-'));

test('writeAtomic: writes, replaces an existing file, leaves no temporary file', (t) => {
  const dir = tmp();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'junit.xml');
  writeFileSync(path, 'old contents that are longer than the new ones');
  writeAtomic(path, 'new');
  t.is(readFileSync(path, 'utf8'), 'new');
  writeAtomic(path, 'ünïcode ✔\n');
  t.is(readFileSync(path, 'utf8'), 'ünïcode ✔\n');
  t.deepEqual(readdirSync(dir), ['junit.xml']);
});

test('writeAtomic: creates the directory, and on failure keeps no temporary file', (t) => {
  const dir = tmp();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeAtomic(join(dir, 'a', 'b', 'x.json'), '{}');
  t.is(readFileSync(join(dir, 'a', 'b', 'x.json'), 'utf8'), '{}');
  mkdirSync(join(dir, 'target-is-a-dir'));
  writeFileSync(join(dir, 'target-is-a-dir', 'keep'), '');
  t.throws(() => writeAtomic(join(dir, 'target-is-a-dir'), 'x'));
  t.deepEqual(readdirSync(dir).sort(), ['a', 'target-is-a-dir']);
});

test('writeSuiteReports: writes every file and result.json round-trips', (t) => {
  const dir = join(tmp(), 'report');
  t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const paths = writeSuiteReports(dir, SUITE, { html: '<!doctype html><title>r</title>' });
  t.deepEqual(paths, {
    junit: join(dir, 'junit.xml'),
    result: join(dir, 'result.json'),
    timings: join(dir, 'timings.json'),
    html: join(dir, 'report.html'),
  });
  t.deepEqual(readdirSync(dir).sort(), ['junit.xml', 'report.html', 'result.json', 'timings.json']);
  t.is(readFileSync(paths.junit, 'utf8'), xml);
  t.is(readFileSync(paths.html!, 'utf8'), '<!doctype html><title>r</title>');

  const back = JSON.parse(readFileSync(paths.result, 'utf8')) as SuiteResult;
  t.is(back.runs.length, SUITE.runs.length);
  t.is(back.interrupted, 'SIGINT (Ctrl-C)');
  t.deepEqual(back.selection, SUITE.selection);
  const probe = back.runs[1]!.outcome!.probes[1]!;
  t.deepEqual(probe.statsDiff as unknown, { 'listener.0.0.0.0_7000.downstream_cx_total': 1 }, 'the Map became an object');
  t.is(probe.result!.received, RECEIVED_400, '\\r\\n and NUL survive in JSON');
  t.deepEqual(probe.checks, wrong7000.checks);
  // Everything but the Maps is identical.
  const mapsAsObjects = JSON.parse(
    JSON.stringify(SUITE, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v as Map<string, unknown>) : v)),
  ) as unknown;
  t.deepEqual(back, mapsAsObjects);
  t.false(readdirSync(dir).some((f) => f.endsWith('.tmp')));
});

test('writeSuiteReports: no report.html unless given; rewriting replaces the files', (t) => {
  const dir = tmp();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = writeSuiteReports(dir, { ...SUITE, runs: SUITE.runs.slice(0, 1), interrupted: undefined });
  t.is(first.html, undefined);
  t.deepEqual(readdirSync(dir).sort(), ['junit.xml', 'result.json', 'timings.json']);
  t.is(Number(parse(readFileSync(first.junit, 'utf8')).testsuites.tests), 2);
  writeSuiteReports(dir, SUITE);
  t.is(Number(parse(readFileSync(first.junit, 'utf8')).testsuites.tests), Number(doc.testsuites.tests));
  t.is((JSON.parse(readFileSync(first.result, 'utf8')) as SuiteResult).runs.length, RUNS.length);
});

test('timings.json: per run phases and suite totals; optional phases only when measured', (t) => {
  const dir = tmp();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const paths = writeSuiteReports(dir, SUITE);
  const timings = JSON.parse(readFileSync(paths.timings, 'utf8')) as ReturnType<typeof suiteTimings>;
  t.deepEqual(timings.phases, { labUpMs: 'lab up', probesMs: 'probes', teardownMs: 'teardown' });
  t.is(timings.runs.length, RUNS.length);
  t.deepEqual(timings.runs[0], {
    scenario: 'redis-7000-modern',
    attempt: 1,
    status: 'passed',
    labUpMs: 3_100,
    probesMs: 1_900,
    teardownMs: 700,
    totalMs: 5_700,
  });
  t.deepEqual(timings.runs[3], { scenario: 'no-outcome', attempt: 1, status: 'error', labUpMs: 0, probesMs: 0, teardownMs: 0, totalMs: 0 });
  t.false('serversReadyMs' in timings.runs[0]!);
  const withOutcome = RUNS.filter((r) => r.outcome).length;
  t.deepEqual(timings.totals, {
    runs: RUNS.length,
    labUpMs: 3_100 * withOutcome,
    probesMs: 1_900 * withOutcome,
    teardownMs: 700 * withOutcome,
    totalMs: 5_700 * withOutcome,
    wallMs: 60_000,
  });

  // A runner that measures servers and sidecars separately gets them in the file, in issue order.
  const split = outcome('split', [passing7001], {
    timings: { upMs: 3_000, probesMs: 1_000, downMs: 500, serversReadyMs: 800, sidecarsReadyMs: 1_200 },
  });
  const t2 = suiteTimings({ ...SUITE, runs: [run('split', 'passed', split), RUNS[0]!] });
  t.deepEqual(Object.values(t2.phases), ['lab up', 'servers ready', 'sidecars ready', 'probes', 'teardown']);
  t.is(t2.runs[0]!.serversReadyMs, 800);
  t.is(t2.runs[0]!.sidecarsReadyMs, 1_200);
  t.is(t2.runs[1]!.serversReadyMs, undefined);
  t.is(t2.totals.sidecarsReadyMs, 1_200);
});

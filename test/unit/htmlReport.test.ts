import test from 'ava';
import {
  anchorId,
  escapeHtml,
  escapeText,
  orderProbes,
  orderRuns,
  renderHtmlReport,
  renderPathSvg,
  totals,
} from '../../harness/report/html.ts';
import type { ScenarioRun, SuiteResult } from '../../harness/report/suiteResult.ts';
import { pathHops } from '../../harness/model/pathDrawing.ts';
import {
  XSS,
  passthroughTrace,
  RUN_DIR,
  passedProbe,
  failingProbe,
  passing7001,
  redisNoTrace,
  outcome,
  RUNS,
  SUITE,
} from '../helpers/htmlReportFixtures.ts';

// ------------------------------------------------------------------------------- pure tests

test('escapeHtml: markup, quotes, ampersands and control characters', (t) => {
  t.is(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  t.is(escapeHtml('a\r\nb\u0000c\td\u001b\u007f'), 'a\u240d\nb\u2400c\td\u241b\u2421');
  t.is(escapeHtml(undefined), '');
  t.is(escapeHtml(42), '42');
  t.notRegex(escapeHtml(XSS), /[<>]/);
});

test('escapeText: control characters become visible C escapes, markup stays text', (t) => {
  t.is(escapeText('a\r\n\u0000'), 'a<span class="ctl" title="U+000D">\\r</span>\n<span class="ctl" title="U+0000">\\0</span>');
  t.is(escapeText('\u001b[0m'), '<span class="ctl" title="U+001B">\\e</span>[0m');
  t.is(escapeText('\u0002'), '<span class="ctl" title="U+0002">\\x02</span>');
  t.is(escapeText(`<i>"&"</i>`), '&lt;i&gt;&quot;&amp;&quot;&lt;/i&gt;');
});

test('orderRuns: failed, error, interrupted, passed, skipped; run order kept within a status', (t) => {
  const mk = (scenario: string, status: ScenarioRun['status']): ScenarioRun => ({
    scenario,
    description: '',
    tags: [],
    istio: '1.30',
    backend: 'netns',
    attempt: 1,
    status,
    startedAt: '',
    durationMs: 0,
  });
  const runs = [
    mk('a', 'skipped'),
    mk('b', 'passed'),
    mk('c', 'interrupted'),
    mk('d', 'failed'),
    mk('e', 'error'),
    mk('f', 'failed'),
    mk('g', 'passed'),
  ];
  t.deepEqual(
    orderRuns(runs).map((r) => r.scenario),
    ['d', 'f', 'e', 'c', 'b', 'g', 'a'],
  );
  t.deepEqual(
    runs.map((r) => r.scenario),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    'the input is not reordered',
  );
});

test('orderProbes: failing probes first, stable', (t) => {
  const p = [
    { n: 1, ok: true },
    { n: 2, ok: false },
    { n: 3, ok: true },
    { n: 4, ok: false },
  ];
  t.deepEqual(
    orderProbes(p).map((x) => x.n),
    [2, 4, 1, 3],
  );
});

test('the fixture is what the test means: the failing probe fails on received, the others pass', (t) => {
  t.true(passedProbe.ok);
  t.true(passing7001.ok);
  t.true(redisNoTrace.ok);
  t.false(failingProbe.ok);
  t.deepEqual(
    failingProbe.checks.filter((c) => !c.ok).map((c) => `${c.evidence} ${c.what}`),
    ['client received', 'conntrack legs', 'stats cluster.PassthroughCluster.upstream_cx_total'],
  );
});

test('totals count runs, probes and checks', (t) => {
  const x = totals(SUITE);
  t.like(x, { runs: 4, passed: 1, failed: 1, errors: 1, skipped: 1, interrupted: 0, probes: 4, probesPassed: 3 });
  const checks = [passedProbe, passing7001, failingProbe, redisNoTrace].flatMap((p) => p.checks);
  t.is(x.checks, checks.length);
  t.is(x.failedChecks, 3);
  t.is(x.reasoned, 1);
});

test("the page escapes run data: the only <script> is the page's own", (t) => {
  const html = renderHtmlReport(SUITE);
  t.is(html.match(/<script/gi)?.length, 1);
  t.false(html.includes('alert(1)</script>'));
  t.true(html.includes('&lt;script&gt;window.__xss = 1; alert(1)&lt;/script&gt;'));
  t.false(html.includes('\u0000'));
  t.false(html.includes('\r'));
  t.true(
    html.includes('peer closed<span class="ctl" title="U+000D">\\r</span>\n<span class="ctl" title="U+0000">\\0</span>&lt;script&gt;'),
    'raw \\r and NUL in an error become visible escapes',
  );
  t.true(html.includes('&lt;see servers/mariadb.log&gt;'));
});

test('the page: sections ordered failures first, failed open, passed and skipped closed', (t) => {
  const html = renderHtmlReport(SUITE);
  const ids = [...html.matchAll(/<details class="scenario s-(\w+)" id="([^"]+)"( open)?/g)].map(
    (m) => `${m[1]}:${m[2]}:${m[3] ? 'open' : 'closed'}`,
  );
  t.deepEqual(ids, [
    'failed:s-redis-7000-1:open',
    'error:s-mysql-3306-foreign-serviceentry-1:open',
    'passed:s-redis-7000-modern-1:closed',
    'skipped:s-registry-only-http-1:closed',
  ]);
  t.is(anchorId({ scenario: 'Redis 7000!', attempt: 2 }), 's-redis-7000-2');
  t.true(html.includes('no path trace'), 'the redis probe has no trace');
  t.true(html.includes('iptables-restore text of Istio 1.4 is modelled from istio-iptables.sh'), 'fidelity notes shown');
  t.true(html.includes(RUN_DIR));
});

test('renderPathSvg: one box per hop, arrows between them, wraps long paths onto more rows', (t) => {
  const hops = pathHops(passthroughTrace(7000, 'PassthroughFilterChain'));
  const svg = renderPathSvg(hops, 'forwarded', 'x');
  t.is(hops.length, 7);
  t.is(svg.match(/<rect class="hop-box"/g)?.length, hops.length);
  t.is(svg.match(/<path class="arrow"/g)?.length, hops.length - 1);
  t.regex(svg, /class="path o-forwarded"/);
  const oneRow = Number(/height="(\d+)"/.exec(svg)?.[1]);
  const wrapped = renderPathSvg([...hops, ...hops, ...hops], 'forwarded', 'y');
  t.true(Number(/height="(\d+)"/.exec(wrapped)?.[1]) > oneRow * 2, 'three times the hops need more rows');
  t.true(Number(/width="(\d+)"/.exec(wrapped)?.[1]) <= 1002, 'rows stay within the drawing width');
  const evil = renderPathSvg([{ kind: 'client', label: '<b>"x"</b>' }], 'forwarded', 'z');
  t.false(evil.includes('<b>'));
});

test('stats that moved are shown with their delta', (t) => {
  const fromJson = { ...passedProbe, statsDiff: { 'cluster.BlackHoleCluster.upstream_cx_total': 2 } };
  const r: SuiteResult = { ...SUITE, runs: [{ ...RUNS[0]!, outcome: outcome('redis-7000-modern', [fromJson]) }], interrupted: undefined };
  const html = renderHtmlReport(r);
  t.regex(html, /cluster\.BlackHoleCluster\.upstream_cx_total<\/code><span class="delta">\+2</);
  t.regex(html, /<title>[^<]*PASS/);
});

test("with real Istio the page gives Istio's simulated path next to the model's drawing, and says when they agree", (t) => {
  const istioPath = { listener: '0.0.0.0_7000', filterChain: 'PassthroughFilterChain', cluster: 'PassthroughCluster' };
  const agreeing = { ...passedProbe, istioPath };
  const r: SuiteResult = { ...SUITE, runs: [{ ...RUNS[0]!, outcome: outcome('redis-7000-modern', [agreeing]) }], interrupted: undefined };
  t.regex(
    renderHtmlReport(r),
    /Istio's simulation \(pilot\/pkg\/simulation\): <code>listener 0\.0\.0\.0_7000 › filterChain PassthroughFilterChain › cluster PassthroughCluster<\/code> — the model agrees/,
  );
  const differing = { ...passedProbe, istioPath: { ...istioPath, cluster: 'BlackHoleCluster' } };
  const html = renderHtmlReport({ ...r, runs: [{ ...RUNS[0]!, outcome: outcome('redis-7000-modern', [differing]) }] });
  t.regex(html, /cluster BlackHoleCluster<\/code><\/p>/);
  t.notRegex(html, /the model agrees/);
});

test("a kind run shows the scenario's and the real addresses", (t) => {
  const addresses = [{ what: 'external server' as const, name: 'redis-cluster', scenario: '10.0.0.6', real: '172.18.0.5' }];
  const kindRun: ScenarioRun = { ...RUNS[0]!, backend: 'kind', outcome: { ...RUNS[0]!.outcome!, backend: 'kind', addresses } };
  const html = renderHtmlReport({ ...SUITE, runs: [kindRun] });
  t.regex(
    html,
    /<h5>addresses \(the probes and checks used the real ones\)<\/h5>.*<td>redis-cluster<\/td><td><code>10\.0\.0\.6<\/code><\/td><td><code>172\.18\.0\.5<\/code><\/td>/s,
  );
  t.notRegex(renderHtmlReport(SUITE), /<h5>addresses/, 'the lab maps nothing and shows no table');
});

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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
import type { ProbeOutcome, ScenarioOutcome } from '../../harness/result/outcome.ts';
import type { PathTrace } from '../../harness/model/pathTrace.ts';
import { pathHops } from '../../harness/model/pathDrawing.ts';
import type { ProbeResult } from '../../harness/probes/result.ts';
import { checkProbe } from '../../harness/result/assertions.ts';
import { legsOfProbe, parseConntrack } from '../../harness/evidence/conntrack.ts';
import { probeSchema } from '../../harness/scenario/schema.ts';

// The test's own screenshot goes to a temp dir; docs/report-screenshot.png comes from a real run (scripts/report-screenshot.ts).
const SCREENSHOT = join(mkdtempSync(join(tmpdir(), 'egress-lab-shot-')), 'report-screenshot.png');
const POD = '10.64.192.14';
const XSS = '<script>window.__xss = 1; alert(1)</script>';

// ------------------------------------------------------------------------------------ fixtures

/** A probe judged by the real assertion code, from conntrack lines and a stats diff. */
function probeOutcome(
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
    end: 'eof',
    errorClass: 'eof',
    durationMs: 14,
    ...over,
  };
}

const redirectedLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=127.0.0.1 dst=${POD} sport=15001 dport=${sport} [ASSURED] mark=0 zone=0 use=2`;
const upstreamLeg = (sport: number, dport: number) =>
  `ipv4     2 tcp      6 110 TIME_WAIT src=${POD} dst=10.0.0.6 sport=${sport} dport=${dport} src=10.0.0.6 dst=${POD} sport=${dport} dport=${sport} [ASSURED] mark=0 zone=0 use=2`;

function passthroughTrace(port: number, filterChain: string): PathTrace {
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

const LOCAL_REPLY_TRACE: PathTrace = {
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

const NOAUTH = '-NOAUTH Authentication required.\r\n';
const RUN_DIR = '/work/main/runs/20250101-120000-redis-7000-el3f';

// Passed: redis-7000-modern, 7000 passes through http_inspector to Redis.
const passedProbe = probeOutcome(
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
const RECEIVED_400 = `HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n${XSS}`;
const failingProbe = probeOutcome(
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
const passing7001 = probeOutcome(
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
const redisNoTrace = probeOutcome(
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

const RUNS: ScenarioRun[] = [
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
    } as ScenarioOutcome,
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

const SUITE: SuiteResult = {
  startedAt: '2025-01-01T12:00:00.000Z',
  finishedAt: '2025-01-01T12:00:34.000Z',
  durationMs: 34_000,
  backend: 'netns',
  runs: RUNS,
  interrupted: 'SIGINT (Ctrl-C)',
  selection: ['redis-7000*', 'mysql-3306-foreign-serviceentry', 'registry-only-http'],
};

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

// ------------------------------------------------------------------------------ browser tests

let context: BrowserContext | undefined;
let page: Page;
let profileDir: string | undefined;
let workDir: string | undefined;
const dialogs: string[] = [];

test.before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'egress-lab-report-'));
  profileDir = mkdtempSync(join(tmpdir(), 'egress-lab-chromium-'));
  const file = join(workDir, 'report.html');
  writeFileSync(file, renderHtmlReport(SUITE));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(file).href);
});

test.after.always(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test.serial('browser: title and totals', async (t) => {
  t.regex(await page.title(), /^egress-lab run 2025-01-01 12:00:00 UTC: FAIL \(1 passed, 1 failed, 1 errors, 1 skipped\)$/);
  const total = (k: string) => page.locator(`[data-total="${k}"]`).innerText();
  t.is(await total('passed'), '1');
  t.is(await total('failed'), '1');
  t.is(await total('errors'), '1');
  t.is(await total('skipped'), '1');
  t.is(await total('probes'), '3/4');
  t.regex(await total('checks'), /^\d+\/\d+$/);
  t.regex(await page.locator('.interrupted').innerText(), /interrupted:\s*SIGINT \(Ctrl-C\)/);
  t.regex(await page.locator('.runmeta').innerText(), /backend netns/);
  t.is(await page.locator('.selection code').count(), 3);
});

test.serial('browser: the summary table lists the failed scenario first, skipped last', async (t) => {
  const rows = page.locator('table.summary tbody tr');
  t.is(await rows.count(), 4);
  const first = rows.nth(0);
  t.is((await first.locator('.badge').innerText()).toLowerCase(), 'failed');
  t.is(await first.locator('a').innerText(), 'redis-7000');
  t.is(await first.locator('a').getAttribute('href'), '#s-redis-7000-1');
  t.is(await first.locator('td.num').first().innerText(), '2/3');
  t.is((await rows.nth(1).locator('.badge').innerText()).toLowerCase(), 'error');
  t.is((await rows.nth(2).locator('.badge').innerText()).toLowerCase(), 'passed');
  t.is((await rows.nth(3).locator('.badge').innerText()).toLowerCase(), 'skipped');
});

test.serial('browser: the failed scenario is open and shows expected vs seen, failing probe first', async (t) => {
  const section = page.locator('#s-redis-7000-1');
  t.true(await section.evaluate((d) => (d as HTMLDetailsElement).open));
  t.false(await page.locator('#s-redis-7000-modern-1').evaluate((d) => (d as HTMLDetailsElement).open));
  const probes = section.locator('article.probe');
  t.is(await probes.count(), 3);
  t.is(await probes.first().locator('h4').innerText(), 'nc-7000', 'the failing probe comes first');
  t.is(await probes.first().locator('code.cmd').innerText(), 'tcp 10.0.0.6:7000 send "keys *\\n"');
  const bad = probes.first().locator('table.checks tr.c-bad').first();
  t.is(await bad.locator('td.expected').innerText(), JSON.stringify(NOAUTH));
  t.is(await bad.locator('td.seen').innerText(), JSON.stringify(RECEIVED_400));
  t.true(await section.locator('.sbody').isVisible());
  t.regex(await section.locator('.rundir').innerText(), /20250101-120000-redis-7000-el3f/);
});

test.serial('browser: the path is drawn, one box per hop with its label, coloured by outcome', async (t) => {
  const passedSvg = page.locator('#s-redis-7000-modern-1 svg.path');
  t.is(await passedSvg.count(), 1);
  t.is(await passedSvg.getAttribute('class'), 'path o-forwarded');
  t.is(await passedSvg.locator('rect.hop-box').count(), 7);
  t.deepEqual(
    await passedSvg.locator('text.hop-label').allTextContents(),
    pathHops(passthroughTrace(7000, 'PassthroughFilterChain')).map((h) => h.label),
  );
  t.deepEqual(await passedSvg.locator('text.hop-kind').allTextContents(), [
    'client',
    'iptables',
    'sidecar',
    'listener',
    'filter-chain',
    'cluster',
    'destination',
  ]);
  const failedSvg = page.locator('#s-redis-7000-1 article.probe').first().locator('svg.path');
  t.is(await failedSvg.locator('rect.hop-box').count(), pathHops(LOCAL_REPLY_TRACE).length);
  // The local reply is drawn amber: the computed stroke of its boxes is the amber colour.
  const stroke = await failedSvg
    .locator('rect.hop-box')
    .first()
    .evaluate((r) => getComputedStyle(r).stroke);
  t.is(stroke, 'rgb(191, 135, 0)');
  const box = await failedSvg.boundingBox();
  t.truthy(box && box.width > 300 && box.height > 40, 'the drawing has a real size on the page');
  t.is(await page.locator('#s-redis-7000-1 .no-trace').innerText(), 'no path trace');
  t.is(
    await page.locator('#s-redis-7000-1 .trace-error').innerText(),
    'the model could not trace this connection: <no listener for 10.0.0.6:7002>',
  );
});

test.serial('browser: conntrack legs and stats under the drawing', async (t) => {
  const failing = page.locator('#s-redis-7000-1 article.probe').first();
  const legs = failing.locator('ul.legs li');
  t.is(await legs.count(), 1);
  t.regex(
    await legs.first().innerText(),
    /10\.64\.192\.14:50500 -> 10\.0\.0\.6:7000, reply from 127\.0\.0\.1:15001 \(redirected to 15001\) TIME_WAIT/,
  );
  t.is(await legs.first().getAttribute('class'), 'leg redirected');
  const passing = page.locator('#s-redis-7000-1 article.probe').nth(1);
  t.is(await passing.locator('ul.legs li.redirected').count(), 1, 'only the client leg is redirected');
  t.regex(
    await passing.locator('ul.legs li:not(.redirected)').innerText(),
    /10\.64\.192\.14:41236 -> 10\.0\.0\.6:7001, reply from 10\.0\.0\.6:7001 \(direct\)/,
  );
  t.regex(await failing.locator('ul.stats').innerText(), /http\.outbound_0\.0\.0\.0_7000\.downstream_rq_4xx\s*\+1/);
});

test.serial('browser: nothing from the data ran; the script text is shown literally', async (t) => {
  t.is(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
  t.deepEqual(dialogs, []);
  t.is(await page.locator('script').count(), 1, "only the page's own script element exists");
  t.regex(await page.locator('#s-redis-7000-1 pre.received').first().innerText(), /<script>window\.__xss = 1; alert\(1\)<\/script>/);
  t.regex(await page.locator('#s-redis-7000-1 .client-saw').first().innerText(), /peer closed\\r\s*\\0<script>/);
});

test.serial('browser: the inline script opens a section when its link is followed', async (t) => {
  await page.locator('table.summary a[href="#s-redis-7000-modern-1"]').click();
  await page.waitForFunction(() => (document.getElementById('s-redis-7000-modern-1') as HTMLDetailsElement).open);
  t.true(await page.locator('#s-redis-7000-modern-1 svg.path').isVisible());
  await page.locator('#collapse-all').click();
  t.false(await page.locator('#s-redis-7000-1').evaluate((d) => (d as HTMLDetailsElement).open));
  // Back to the page as it loads for the screenshot.
  await page.evaluate(() => history.replaceState(null, '', location.pathname));
  await page.reload();
});

test.serial('browser: full-page screenshot for the README', async (t) => {
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  const png = readFileSync(SCREENSHOT);
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  t.is(png.subarray(12, 16).toString('latin1'), 'IHDR');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  t.is(width, 1280);
  t.true(height > 1500, `a full page, not just the viewport (height ${height})`);
  t.true(statSync(SCREENSHOT).size > 50_000, 'not a blank image');
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

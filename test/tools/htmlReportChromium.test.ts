/** The HTML report in a real browser (Debian's Chromium, headless): what a reader sees and what the inline script does. */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderHtmlReport } from '../../harness/report/html.ts';
import { pathHops } from '../../harness/model/pathDrawing.ts';
import { passthroughTrace, LOCAL_REPLY_TRACE, NOAUTH, RECEIVED_400, SUITE } from '../helpers/htmlReportFixtures.ts';

// The test's own screenshot goes to a temp dir; docs/report-screenshot.png comes from a real run (scripts/report-screenshot.ts).
const SCREENSHOT = join(mkdtempSync(join(tmpdir(), 'egress-lab-shot-')), 'report-screenshot.png');

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

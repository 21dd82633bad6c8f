/**
 * Renders a run's report.html in headless Chromium (Debian's) and saves a screenshot, e.g. for the
 * README:  npx tsx scripts/report-screenshot.ts runs/<suite>/report.html docs/report-screenshot.png
 */
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: report-screenshot <report.html> <out.png>');
const profile = mkdtempSync(join(tmpdir(), 'egress-lab-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  // The machine's network is closed: no background networking, no component updates.
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
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(pathToFileURL(resolve(input)).href);
  await page.screenshot({ path: output, fullPage: true });
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
